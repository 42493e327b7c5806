-- Shared by the bench scripts: auth from the environment, a per-thread count of 2xx answers and
-- a JSON summary on stdout for bench/load.py. Each script sets `path_for(i)`/`body_for(i)`.
local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", counter)
   thread:set("ok", 0)
   thread:set("bad", 0)
   counter = counter + 1
   table.insert(threads, thread)
end

headers = {["Content-Type"] = "application/json"}
local auth = os.getenv("BENCH_AUTH")
if auth then headers["Authorization"] = auth end

function read_lines(path)
   local items = {}
   if path == nil then return items end
   for line in io.lines(path) do
      if #line > 0 then table.insert(items, line) end
   end
   return items
end

function split(line)
   local fields = {}
   for part in string.gmatch(line, "[^ ]+") do table.insert(fields, part) end
   return fields
end

function response(status, hdrs, body)
   if stopped then return end
   if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
   local good, failed = 0, 0
   for _, t in ipairs(threads) do
      good = good + t:get("ok")
      failed = failed + t:get("bad")
   end
   io.write(string.format(
      '{"requests": %d, "ok": %d, "bad": %d, "seconds": %.6f, "p50_ms": %.3f, "p99_ms": %.3f, "socket_errors": %d}\n',
      summary.requests, good, failed, summary.duration / 1e6,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
