#!/bin/sh
# bench/metrics.sh: what GET /metrics costs, in one run (issue 12).
#
#   sh bench/metrics.sh         (from the repository root; `make bench` runs it too)
#
# Two vidgen servers from the same binary, side by side: "on" with its defaults, "off" with
# VIDGEN_METRICS=off (HTTP requests not counted, /metrics 404). Three measures:
#   1. scrape time: BENCH_SCRAPES scrapes of /metrics back to back on an idle "on" server,
#      over one keep-alive connection (bench/metrics_scrape.py), after the load below has
#      filled its counters;
#   2. its cost to a GET /models load: wrk on "on" alone, then with a scraper taking
#      /metrics every 100 ms during the run (10 scrapes a second, far more than Prometheus'
#      usual 15 s), rounds alternating which goes first;
#   3. the cost of counting on POST /estimate-credits: wrk on "on" and on "off" in turn,
#      rounds alternating which goes first. Target: under 5 % fewer req/s.
# wrk: 64 connections, 2 threads, --latency, bench/http.lua (the same as bench/http.sh).
#
# Environment (all optional): BENCH_SECONDS (10), BENCH_ROUNDS (3), BENCH_WARMUP (2),
# BENCH_SCRAPES (500), VIDGEN_BIN (build/vidgen), VIDGEN_THREADS.
#
# Exit status: 0 when every run ran and every reply was 2xx/200, whether or not the target is
# met (PASS/MISS is information); 1 when something failed to run.
# shellcheck disable=SC2015 # "A && B || die": die when either fails, as meant
set -eu

die() {
    printf 'bench/metrics.sh: %s\n' "$*" >&2
    exit 1
}

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VIDGEN_BIN=${VIDGEN_BIN:-$ROOT/build/vidgen}
DURATION=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-2}
SCRAPES=${BENCH_SCRAPES:-500}
for v in "$DURATION" "$ROUNDS" "$WARMUP" "$SCRAPES"; do
    case $v in '' | *[!0-9]*) die "BENCH_SECONDS, BENCH_ROUNDS, BENCH_WARMUP and BENCH_SCRAPES take whole numbers, not '$v'" ;; esac
done
[ "$DURATION" -ge 1 ] && [ "$ROUNDS" -ge 1 ] && [ "$SCRAPES" -ge 1 ] || die "BENCH_SECONDS, BENCH_ROUNDS and BENCH_SCRAPES must be at least 1"
API=/api/apps/video-generator
BODY='{"modelId":"veo3","resolution":"1080p","duration":8}'
LUA=$ROOT/bench/http.lua
SCRAPER=$ROOT/bench/metrics_scrape.py
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

. "$ROOT/bench/lib.sh"
bench_require wrk:wrk curl:curl python3:python3

TMP=""
ON_PID=""
OFF_PID=""
stop_servers() {
    bench_stop "$ON_PID" TERM
    bench_stop "$OFF_PID" TERM
}
bench_traps
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vidgen-bench-metrics.XXXXXX")

# start NAME METRICS: a server in $TMP/NAME, no worker (nothing but HTTP to measure); sets PORT, PID.
start() {
    mkdir -p "$TMP/$1/data"
    PORT=$(free_port)
    (cd "$TMP/$1" && exec env VIDGEN_ADDR="127.0.0.1:$PORT" VIDGEN_DATA_DIR="$TMP/$1/data" VIDGEN_ACCESS_LOG=off \
        VIDGEN_METRICS="$2" "$VIDGEN_BIN" serve --no-worker) >"$TMP/$1.log" 2>&1 &
    PID=$!
    wait_for "http://127.0.0.1:$PORT/healthz" "$PID" "vidgen ($1)"
}
start on on
ON_PORT=$PORT ON_PID=$PID
start off off
OFF_PORT=$PORT OFF_PID=$PID
TOKEN=$(cat "$TMP/on/data/admin-token")
curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$ON_PORT/metrics" || die "GET /metrics failed on 'on'"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$TMP/off/data/admin-token")" \
    "http://127.0.0.1:$OFF_PORT/metrics")" = 404 ] || die "VIDGEN_METRICS=off still serves /metrics"

field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ticks() { echo $(($(cut -d' ' -f14 "/proc/$1/stat") + $(cut -d' ' -f15 "/proc/$1/stat"))); }
RESULTS=$TMP/results # lines: case round rps p99_us cpu_us_per_reply
FAILED=0

# run CASE SECONDS ROUND: one wrk run. CASE: models (on), models+scrape (on, scraper every
# 100 ms), estimate-on, estimate-off. ROUND 0 is a warm-up, not recorded.
run() {
    case $1 in
    models | models+scrape) port=$ON_PORT pid=$ON_PID path=$API/models body="" ;;
    estimate-on) port=$ON_PORT pid=$ON_PID path=$API/estimate-credits body=$BODY ;;
    estimate-off) port=$OFF_PORT pid=$OFF_PID path=$API/estimate-credits body=$BODY ;;
    esac
    sleep 1 # the previous run's connections settle
    rm -f "$TMP/stop"
    scraper=""
    if [ "$1" = models+scrape ]; then
        python3 "$SCRAPER" "$ON_PORT" "$TOKEN" 0.1 1000000 "$TMP/stop" >"$TMP/scrape-$3.txt" 2>&1 &
        scraper=$!
    fi
    t0=$(ticks "$pid")
    BENCH_POST_BODY=$body wrk -t2 -c64 -d"$2s" --latency -s "$LUA" "http://127.0.0.1:$port$path" >"$TMP/wrk.txt" 2>&1 ||
        { cat "$TMP/wrk.txt" >&2; die "wrk failed against $path"; }
    t1=$(ticks "$pid")
    scrape=""
    if [ -n "$scraper" ]; then
        touch "$TMP/stop"
        wait "$scraper" || die "the scraper failed: $(cat "$TMP/scrape-$3.txt")"
        scrape=$(grep '^SCRAPE ' "$TMP/scrape-$3.txt") || die "the scraper printed no summary"
        [ "$(field "$scrape" non200)" = 0 ] || { echo "  FAILED: a scrape was not 200" >&2; FAILED=1; }
    fi
    line=$(grep '^BENCH ' "$TMP/wrk.txt") || { cat "$TMP/wrk.txt" >&2; die "wrk printed no summary"; }
    requests=$(field "$line" requests)
    [ "$requests" != 0 ] && [ "$(field "$line" non2xx)" = 0 ] || { echo "  FAILED: $1: non-2xx replies" >&2; FAILED=1; }
    cpu=$(echo "$t0 $t1 $requests" | awk -v hz="$HZ" '{ print ($3 > 0 ? ($2 - $1) * 1e6 / hz / $3 : 0) }')
    tag=warm-up
    [ "$3" = 0 ] || tag="round $3"
    printf '  %-8s %-14s %7.0f req/s  p99 %6.2f ms  %5.1f µs CPU/reply%s\n' "$tag" "$1" "$(field "$line" rps)" \
        "$(echo "$(field "$line" p99_us)" | awk '{print $1/1000}')" "$cpu" \
        "${scrape:+  (scrapes: $(field "$scrape" n), p50 $(field "$scrape" p50_ms) ms, p99 $(field "$scrape" p99_ms) ms)}"
    [ "$3" = 0 ] || echo "$1 $3 $(field "$line" rps) $(field "$line" p99_us) $cpu" >>"$RESULTS"
}

median() { # CASE COLUMN (3 rps, 4 p99_us, 5 cpu)
    awk -v k="$1" -v c="$2" '$1 == k { print $c }' "$RESULTS" | sort -g |
        awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

BUSY0=$(head -n 1 /proc/stat)
echo "GET /metrics: its cost, ${DURATION}s per wrk run (64 connections, 2 threads), $ROUNDS round(s) after a ${WARMUP}s warm-up"
if [ "$WARMUP" -gt 0 ]; then
    for c in models estimate-on estimate-off; do run "$c" "$WARMUP" 0; done
fi
r=1
while [ "$r" -le "$ROUNDS" ]; do
    if [ $((r % 2)) = 1 ]; then
        run models "$DURATION" "$r"; run models+scrape "$DURATION" "$r"
        run estimate-on "$DURATION" "$r"; run estimate-off "$DURATION" "$r"
    else
        run models+scrape "$DURATION" "$r"; run models "$DURATION" "$r"
        run estimate-off "$DURATION" "$r"; run estimate-on "$DURATION" "$r"
    fi
    r=$((r + 1))
done

sleep 1
IDLE=$(python3 "$SCRAPER" "$ON_PORT" "$TOKEN" 0 "$SCRAPES") || die "the scraper failed"
[ "$(field "$IDLE" non200)" = 0 ] || die "a scrape was not 200"
SERIES=$(curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$ON_PORT/metrics" | grep -vc '^#')

echo
echo "Results ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, Linux $(uname -r), median of $ROUNDS round(s)):"
echo
echo "| measure | without | with | cost |"
echo "|---|---:|---:|---:|"
awk -v a="$(median models 3)" -v b="$(median models+scrape 3)" -v pa="$(median models 4)" -v pb="$(median models+scrape 4)" \
    -v ca="$(median models 5)" -v cb="$(median models+scrape 5)" -v e1="$(median estimate-off 3)" -v e2="$(median estimate-on 3)" \
    -v q1="$(median estimate-off 4)" -v q2="$(median estimate-on 4)" -v u1="$(median estimate-off 5)" -v u2="$(median estimate-on 5)" -v out="$TMP/verdict" '
function pct(x, y) { return x > 0 ? 100 * (x - y) / x : 0 }
BEGIN {
    printf "| GET /models req/s, without / with a scraper every 100 ms | %.0f | %.0f | %.1f %% |\n", a, b, pct(a, b)
    printf "| GET /models p99 | %.2f ms | %.2f ms | |\n", pa / 1000, pb / 1000
    printf "| GET /models vidgen CPU per reply | %.1f µs | %.1f µs | |\n", ca, cb
    printf "| POST /estimate-credits req/s, VIDGEN_METRICS off / on | %.0f | %.0f | %.1f %% |\n", e1, e2, pct(e1, e2)
    printf "| POST /estimate-credits p99 | %.2f ms | %.2f ms | |\n", q1 / 1000, q2 / 1000
    printf "| POST /estimate-credits vidgen CPU per reply | %.1f µs | %.1f µs | %.1f %% |\n", u1, u2, -pct(u1, u2)
    printf "%.2f\n", pct(e1, e2) > out
}'
echo
echo "Scrape of an idle server ($SCRAPES back to back, one connection): $(field "$IDLE" bytes) bytes, $SERIES series, p50 $(field "$IDLE" p50_ms) ms, p99 $(field "$IDLE" p99_ms) ms, max $(field "$IDLE" max_ms) ms"
# /proc/stat's "cpu" line: user nice system idle iowait irq softirq steal guest guest_nice
echo "$BUSY0" "$(head -n 1 /proc/stat)" | awk '{ h = NF / 2; b0 = $2 + $3 + $4 + $7 + $8 + $9; t0 = b0 + $5 + $6
    b1 = $(h + 2) + $(h + 3) + $(h + 4) + $(h + 7) + $(h + 8) + $(h + 9); t1 = b1 + $(h + 5) + $(h + 6)
    printf "Machine busy over the whole run (vidgen, wrk and anything else): %.0f %% of %d cores; load average now %s\n", 100 * (b1 - b0) / (t1 - t0), '"$(nproc)"', "'"$(cut -d' ' -f1-3 /proc/loadavg)"'" }'
echo
awk '{ printf "%s  POST /estimate-credits: counting costs %.1f %% of req/s (target < 5 %%)\n", ($1 < 5 ? "PASS" : "MISS"), $1 }' "$TMP/verdict"
exit "$FAILED"
