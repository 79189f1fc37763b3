-- wrk script for the activation scenario of bench/storage.mjs: asks N objects once each, one
-- after the other, on one connection, and stops after the last answer.
--
--   wrk -t 1 -c 1 -d 60s -s activation.lua http://127.0.0.1:PORT -- PREFIX N SUFFIX EXPECT
--
-- PREFIX  the path up to the object's number, e.g. /_do/storage-bench/activation-
-- N       how many objects: PREFIX .. 0 .. SUFFIX up to PREFIX .. N-1 .. SUFFIX
-- SUFFIX  the rest of the path, e.g. /count
-- EXPECT  a string every answer's body must contain, e.g. "rows":20000
--
-- A compiled client on one connection, so that the latencies are the server's: a Node client
-- added its own pauses (its page faults, garbage collection and compiler) to one request in ten.
-- done() prints one machine-readable line, read by storage.mjs.

local prefix, count, suffix, expect
local asked = 0
local threads = {}
-- Globals, so that done() can read them through thread:get().
answered = 0
wrong = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1]
  count = tonumber(args[2])
  suffix = args[3]
  expect = args[4]
end

function request()
  -- Never more than `count`: wrk may ask for one more request before the stop takes effect, and
  -- that one is never sent.
  local i = math.min(asked, count - 1)
  asked = asked + 1
  return wrk.format("GET", prefix .. i .. suffix)
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 or not string.find(body, expect, 1, true) then
    wrong = wrong + 1
  end
  if answered >= count then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local answers, wrongs = 0, 0
  for _, thread in ipairs(threads) do
    answers = answers + thread:get("answered")
    wrongs = wrongs + thread:get("wrong")
  end
  io.write(string.format(
    'ACTIVATION_RESULT {"requests":%d,"answered":%d,"wrong":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"timeouts":%d}\n',
    summary.requests, answers, wrongs,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean,
    summary.errors.timeout))
end
