-- wrk script for bench/generate.py: POST /generate, each request for the next user in
-- BENCH_USERS (a file of "token project_id" lines), so the charges spread over many
-- balances as they would with many users (one user's charges take turns on one row).
--
-- done() prints one line that bench/generate.py reads (latencies in microseconds).

local pairs_ = {}
local n = 0
local i = 0

function init(args)
   for line in io.lines(os.getenv("BENCH_USERS")) do
      local token, project = line:match("^(%S+)%s+(%S+)$")
      if token then
         n = n + 1
         pairs_[n] = {token, project}
      end
   end
   i = math.random(n) - 1
end

function request()
   i = i % n + 1
   local p = pairs_[i]
   local body = '{"projectId":"' .. p[2] .. '","modelId":"local-preview","prompt":"bench generate",' ..
      '"resolution":"720p","aspectRatio":"1:1","duration":1}'
   return wrk.format("POST", os.getenv("BENCH_PATH"),
                     {["Authorization"] = "Bearer " .. p[1], ["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
   local secs = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, secs, summary.requests / secs, latency:percentile(50), latency:percentile(99),
      e.status, e.connect, e.read, e.write, e.timeout))
end
