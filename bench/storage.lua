-- wrk script for the storage scenarios (bench/storage.mjs).
--
--   wrk ... -s storage.lua http://127.0.0.1:PORT -- METHOD PATH
--
-- METHOD  GET or POST
-- PATH    the full request path, e.g. /_do/storage-bench/insert/insert
--
-- Every request is the same, built once per thread in init(). done() prints one machine-readable
-- line in the format counter.lua uses, read by storage.mjs.

local req

function init(args)
  local method = args[1] or "GET"
  local path = args[2] or "/"
  local headers = {}
  if method == "POST" then
    headers["Content-Length"] = "0"
  end
  req = wrk.format(method, path, headers, nil)
end

function request()
  return req
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
