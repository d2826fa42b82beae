"""Scraper for bench/metrics.sh: GETs /metrics over one keep-alive connection, as Prometheus
does, every INTERVAL seconds (0: back to back) until COUNT scrapes are done or the file STOP
exists, and prints one line with the scrape times:

    SCRAPE n=… bytes=… p50_ms=… p99_ms=… max_ms=… non200=…

    python3 bench/metrics_scrape.py PORT TOKEN INTERVAL COUNT [STOP]
"""

import http.client
import os
import sys
import time


def main():
    port, token, interval, count = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    stop = sys.argv[5] if len(sys.argv) > 5 else None
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times, size, bad = [], 0, 0
    next_at = time.monotonic()
    while len(times) < count and not (stop and os.path.exists(stop)):
        t0 = time.monotonic()
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
        r = conn.getresponse()
        body = r.read()
        times.append(time.monotonic() - t0)
        size = len(body)
        bad += r.status != 200
        next_at += interval
        if interval > 0:
            time.sleep(max(0.0, next_at - time.monotonic()))
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1000 if times else 0.0
    print(f"SCRAPE n={len(times)} bytes={size} p50_ms={pick(0.5):.3f} p99_ms={pick(0.99):.3f} "
          f"max_ms={pick(1.0):.3f} non200={bad}")


if __name__ == "__main__":
    main()
