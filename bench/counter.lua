-- wrk script for the Counter scenarios.
--
--   wrk ... -s counter.lua http://127.0.0.1:PORT -- METHOD ACTION OBJECTS PREFIX [ROUTE]
--
-- METHOD  GET or POST
-- ACTION  the object's path after the id: "increment" or "get"
-- OBJECTS how many distinct object ids the requests are spread over (1 = just PREFIX itself)
-- PREFIX  object id, or id prefix when OBJECTS > 1 ("spread" gives spread-0 .. spread-999)
-- ROUTE   the class's name in the URL (default "counter"), or a path starting with "/" that
--         replaces "/_do/<class>" (a Worker's URL, e.g. "/worker")
--
-- The requests are built once per thread in init(), because wrk.format in request() on every call
-- would cost the load generator CPU that the server under test needs on a small machine; but
-- beyond 50,000 objects (ids meant to be new on every request), building them all would take
-- seconds of the run itself (wrk's clock starts before init()), so each is built when it is sent.
-- done() prints one machine-readable line, read by bench.mjs.

local thread_count = 0

function setup(thread)
  -- Each wrk thread has its own Lua state; give each a different starting offset so that with
  -- several threads they do not march over the same ids in lockstep.
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local requests = {}
local next_index = 1
local lazy = nil

function init(args)
  local method = args[1] or "POST"
  local action = args[2] or "increment"
  local objects = tonumber(args[3] or "1")
  local prefix = args[4] or "bench"
  local route = args[5] or "counter"
  local headers = {}
  if method == "POST" then
    -- An explicit empty body, so that both servers see the same framing.
    headers["Content-Length"] = "0"
  end
  local base = "/_do/" .. route
  if route:sub(1, 1) == "/" then
    base = route
  end
  local function build(i)
    local id = prefix
    if objects > 1 then
      id = prefix .. "-" .. i
    end
    return wrk.format(method, base .. "/" .. id .. "/" .. action, headers, nil)
  end
  local offset = (thread_index or 0) * 7919
  if objects > 50000 then
    lazy = { build = build, objects = objects, next = offset % objects }
    return
  end
  for i = 0, objects - 1 do
    requests[#requests + 1] = build(i)
  end
  next_index = (offset % #requests) + 1
end

function request()
  if lazy then
    local r = lazy.build(lazy.next)
    lazy.next = (lazy.next + 1) % lazy.objects
    return r
  end
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index > #requests then
    next_index = 1
  end
  return r
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
