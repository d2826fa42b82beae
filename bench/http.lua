-- wrk script for bench/http.sh.
--
-- With BENCH_POST_BODY set in the environment every request is a POST of that body with
-- Content-Type: application/json (POST /estimate-credits); without it, wrk's plain GET.
-- No request() or response() callback: wrk then builds the request once and does not hand
-- each reply to Lua, so the load generator costs the same for both servers and as little
-- as it can (it shares the machine's cores with them).
--
-- done() prints one line that bench/http.sh reads, with figures straight from wrk's
-- histograms (latencies in microseconds) rather than its rounded human-readable text.

local body = os.getenv("BENCH_POST_BODY")
if body ~= nil and body ~= "" then
   wrk.method = "POST"
   wrk.body = body
   wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
   local secs = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d seconds=%.3f rps=%.1f bytes=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
      "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, secs, summary.requests / secs, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.status, e.connect, e.read, e.write, e.timeout))
end
