#!/bin/sh
# bench/http.sh: vidgen's HTTP serving against nginx, side by side, in one run.
#
#   sh bench/http.sh            (from the repository root; `make bench` runs it too)
#
# Both servers send the same bytes: the script takes vidgen's reply to GET /models and to
# POST /estimate-credits, writes each to a file and has nginx serve those files. Then wrk
# (64 connections, 2 threads, --latency) runs against each server in turn, alternating
# which goes first, on the same loopback, the same machine and in the same minute, so both
# see the same state of it. vidgen computes its estimate per request; nginx only sends a
# file, which is why that target is a fraction of nginx (DESIGN.md §3 "Why h2o", §8).
#
# Environment (all optional):
#   BENCH_SECONDS   length of each measured wrk run, in seconds (default 10)
#   BENCH_ROUNDS    measured runs per endpoint and server; the table shows the median (default 2)
#   BENCH_WARMUP    length of the warm-up run of each target, in seconds (default 2)
#   BENCH_QUIET_WAIT  before each run, wait up to this many seconds for the rest of the
#                   machine to use under 10% of the CPU (default 30; 1 = do not wait)
#   VIDGEN_BIN      the binary to measure (default build/vidgen; built with make if missing)
#   VIDGEN_THREADS  passed through to vidgen (default: one event loop per core)
#   BENCH_PIN=1     servers and load generator on separate cores: vidgen (1 event loop) and
#                   nginx (1 worker) on CPU 0, wrk (1 thread) on CPU 1. Without it all of
#                   them share every core, which is the default and what the targets are
#                   checked against; pinned, the figures are steadier and the latency is the
#                   servers' own rather than the scheduling of four busy threads on two cores.
#
# Exit status: 0 when every run ran and every vidgen reply was 2xx, whether or not the
# targets are met (PASS/MISS is information); 1 when something failed to run.
# shellcheck disable=SC2015 # "A && B || die": die when either fails, as meant
set -eu

die() {
    printf 'bench/http.sh: %s\n' "$*" >&2
    exit 1
}

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VIDGEN_BIN=${VIDGEN_BIN:-$ROOT/build/vidgen}
DURATION=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-2}
WARMUP=${BENCH_WARMUP:-2}
QUIET_WAIT=${BENCH_QUIET_WAIT:-30}
CONNECTIONS=64
WRK_THREADS=2
PIN=${BENCH_PIN:-0}
SERVER_CPUS="" # taskset prefixes, empty unless pinned
WRK_CPUS=""
NGINX_WORKERS=auto
if [ "$PIN" = 1 ]; then
    [ "$(nproc)" -ge 2 ] || die "BENCH_PIN=1 needs at least 2 cores"
    command -v taskset >/dev/null 2>&1 || die "BENCH_PIN=1 needs taskset (util-linux)"
    SERVER_CPUS="taskset -c 0"
    WRK_CPUS="taskset -c 1"
    WRK_THREADS=1
    NGINX_WORKERS=1
    VIDGEN_THREADS=1
    export VIDGEN_THREADS
fi
API=/api/apps/video-generator
BODY='{"modelId":"veo3","resolution":"1080p","duration":8}'
LUA=$ROOT/bench/http.lua

for v in "$DURATION" "$ROUNDS" "$WARMUP" "$QUIET_WAIT"; do
    case $v in '' | *[!0-9]*) die "BENCH_SECONDS, BENCH_ROUNDS, BENCH_WARMUP and BENCH_QUIET_WAIT take whole numbers, not '$v'" ;; esac
done
[ "$DURATION" -ge 1 ] && [ "$ROUNDS" -ge 1 ] || die "BENCH_SECONDS and BENCH_ROUNDS must be at least 1"

# --- 1. tools -------------------------------------------------------------------------
. "$ROOT/bench/lib.sh"
bench_require wrk:wrk nginx:nginx-light curl:curl

# --- processes, temporary files and their cleanup -------------------------------------
TMP=""
VG_PID=""
NGINX_PID=""

stop_servers() {
    bench_stop "$NGINX_PID" QUIT # graceful: finish the replies in flight, then exit
    bench_stop "$VG_PID" TERM    # vidgen's graceful stop
}
bench_traps

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vidgen-bench.XXXXXX")
mkdir "$TMP/data" "$TMP/www" "$TMP/nginx"

# --- 2. vidgen ------------------------------------------------------------------------
VG_PORT=$(free_port)
VG=http://127.0.0.1:$VG_PORT
# cwd $TMP: no stray .env is read. exec: $! is vidgen itself.
# shellcheck disable=SC2086 # $SERVER_CPUS: empty, or the words of a taskset prefix
(cd "$TMP" && exec $SERVER_CPUS env VIDGEN_ADDR="127.0.0.1:$VG_PORT" VIDGEN_DATA_DIR="$TMP/data" VIDGEN_ACCESS_LOG=off \
    "$VIDGEN_BIN" serve) >"$TMP/vidgen.log" 2>&1 &
VG_PID=$!
wait_for "$VG/healthz" "$VG_PID" vidgen
VG_LOOPS=$(sed -n 's/.* with \([0-9]*\) event loops*$/\1/p' "$TMP/vidgen.log" | head -n 1)

# --- 3. the same bytes as static files, and nginx -------------------------------------
curl -fsS -o "$TMP/www/models.json" "$VG$API/models" || die "GET $API/models failed"
curl -fsS -o "$TMP/www/estimate.json" -H 'Content-Type: application/json' --data-binary "$BODY" \
    "$VG$API/estimate-credits" || die "POST $API/estimate-credits failed"
for f in models estimate; do
    head -c 15 "$TMP/www/$f.json" | grep -q '^{"success":true' || die "vidgen's $f reply is not a success: $(head -c 300 "$TMP/www/$f.json")"
done

NGINX_PORT=$(free_port)
NG=http://127.0.0.1:$NGINX_PORT
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;" # workers must read $TMP (mode 0700) and write its temp dirs
cat >"$TMP/nginx.conf" <<EOF
# Written by bench/http.sh: nginx serving vidgen's replies as static files.
$USER_LINE
daemon off;
worker_processes $NGINX_WORKERS;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    keepalive_requests 100000;
    keepalive_timeout 75s;
    # Tuned for small files: one writev of headers and body per reply, as vidgen does.
    # (sendfile on + tcp_nopush on, Debian's default, costs two setsockopt and a separate
    # sendfile per reply, and measured slower here.)
    sendfile off;
    open_file_cache max=16 inactive=60s;
    open_file_cache_valid 60s;
    types { }
    default_type application/json;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/www;
        location / { }
    }
}
EOF
"$NGINX" -t -q -p "$TMP/nginx/" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" || die "nginx rejects its configuration"
# shellcheck disable=SC2086
$SERVER_CPUS "$NGINX" -p "$TMP/nginx/" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" &
NGINX_PID=$!
wait_for "$NG/models.json" "$NGINX_PID" nginx
for f in models estimate; do
    curl -fsS -o "$TMP/check.json" "$NG/$f.json"
    cmp -s "$TMP/check.json" "$TMP/www/$f.json" || die "nginx does not send the same bytes for $f.json"
    curl -fsS -o /dev/null -D "$TMP/check.hdr" "$NG/$f.json"
    grep -qi '^content-type: application/json' "$TMP/check.hdr" || die "nginx sends $f.json with another Content-Type"
done

# --- 4. the runs ----------------------------------------------------------------------
# The URL of each target: vg- (vidgen) or ng- (nginx), then the endpoint.
target() {
    case $1 in
    vg-models) echo "$VG$API/models" ;;
    ng-models) echo "$NG/models.json" ;;
    vg-estimate) echo "$VG$API/estimate-credits" ;;
    ng-estimate) echo "$NG/estimate.json" ;;
    esac
}

FAILED=0
RESULTS=$TMP/results # lines: endpoint server round rps p99_us p50_us bytes_per_reply cpu_us_per_reply

# Telling the machine's own noise apart: in the pause before each run (vidgen and nginx
# idle) the busy share of the CPU is what other processes use; during a run it is the
# machine's busy time less what vidgen, nginx and wrk used. Clock ticks throughout.
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
# "TOTAL BUSY" since boot, from the first line of /proc/stat: user nice system idle iowait
# irq softirq steal; busy is all but idle and iowait. (This kernel charges the softirq work
# of loopback TCP to the process it interrupts as well, so it cancels out.)
machine_ticks() {
    head -n 1 /proc/stat | awk '{ t = 0; for (i = 2; i <= 9 && i <= NF; i++) t += $i; print t, t - $5 - $6 }'
}
process_ticks() { # user + system time of the PIDs given (whole processes, all threads)
    t=0
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] && t=$((t + $(cut -d' ' -f14 "/proc/$pid/stat") + $(cut -d' ' -f15 "/proc/$pid/stat")))
    done
    echo "$t"
}
own_ticks() { # shellcheck disable=SC2046 # the server a target runs on
    case $1 in
    vg-*) process_ticks "$VG_PID" ;;
    *) process_ticks "$NGINX_PID" $(pgrep -P "$NGINX_PID" 2>/dev/null) ;;
    esac
}
server_ticks() { # shellcheck disable=SC2046 # nginx's workers: one PID a word
    process_ticks "$VG_PID" "$NGINX_PID" $(pgrep -P "$NGINX_PID" 2>/dev/null)
}
# CPU time of the children this shell has waited for (wrk, curl, ...), from the output of
# the builtin `times` in FILE. Run `times >FILE` in this shell itself, not in $(...): a
# subshell would report its own children.
children_ticks() {
    awk -v hz="$HZ" 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } print int(t * hz) }' "$1"
}
busy_percent() { # the machine's busy share over one second, in percent
    a=$(machine_ticks)
    sleep 1
    echo "$a $(machine_ticks)" | awk '{ d = $3 - $1; print (d > 0 ? int(100 * ($4 - $2) / d + 0.5) : 0) }'
}
BUSY_MAX=0

field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# run KEY SECONDS ROUND: one wrk run; ROUND 0 is the warm-up and is not recorded.
run() {
    key=$1
    url=$(target "$key")
    body=""
    case $key in *-estimate) case $key in vg-*) body=$BODY ;; esac ;; esac
    out=$TMP/wrk-$key-$3.txt
    # Also lets the previous run's connections settle. On a shared machine, wait (up to
    # BENCH_QUIET_WAIT seconds) for other processes to go quiet before measuring.
    busy=$(busy_percent)
    waited=1
    while [ "$busy" -gt 10 ] && [ "$waited" -lt "$QUIET_WAIT" ]; do
        busy=$(busy_percent)
        waited=$((waited + 1))
    done
    times >"$TMP/times0"
    m0=$(machine_ticks) s0=$(server_ticks) p0=$(own_ticks "$key")
    # shellcheck disable=SC2086
    if ! BENCH_POST_BODY=$body $WRK_CPUS wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$2s" --latency -s "$LUA" "$url" >"$out" 2>&1; then
        cat "$out" >&2
        die "wrk failed against $url"
    fi
    m1=$(machine_ticks) s1=$(server_ticks) p1=$(own_ticks "$key")
    times >"$TMP/times1"
    c0=$(children_ticks "$TMP/times0") c1=$(children_ticks "$TMP/times1")
    others=$(echo "$m0 $m1 $s0 $s1 $c0 $c1" | awk '{ d = $3 - $1; o = ($4 - $2) - ($6 - $5) - ($8 - $7)
        print (d > 0 && o > 0 ? int(100 * o / d + 0.5) : 0) }')
    [ "$others" -le "$BUSY_MAX" ] || BUSY_MAX=$others
    line=$(grep '^BENCH ' "$out") || { cat "$out" >&2; die "wrk printed no summary for $url"; }
    requests=$(field "$line" requests)
    non2xx=$(field "$line" non2xx)
    sockerr=$(($(field "$line" connect) + $(field "$line" read) + $(field "$line" write) + $(field "$line" timeout)))
    rps=$(field "$line" rps)
    p99=$(field "$line" p99_us)
    p50=$(field "$line" p50_us)
    per=$(($(field "$line" bytes) / (requests > 0 ? requests : 1)))
    # The server's own CPU time per reply: user + system of all its threads or workers
    # (which includes the loopback TCP work the kernel does while they run). Less
    # sensitive to other load on the machine than req/s.
    cpu=$(echo "$p0 $p1 $requests" | awk -v hz="$HZ" '{ print ($3 > 0 ? ($2 - $1) * 1e6 / hz / $3 : 0) }')
    tag=warm-up
    [ "$3" = 0 ] || tag="round $3"
    printf '  %-8s %-9s %-7s %6.0f req/s  p50 %5.2f ms  p99 %5.2f ms  %4.1f µs CPU/reply  %4d B/reply  (others %2d%% CPU)' \
        "$tag" "${key#*-}" "$(case $key in vg-*) echo vidgen ;; *) echo nginx ;; esac)" \
        "$rps" "$(echo "$p50" | awk '{print $1/1000}')" "$(echo "$p99" | awk '{print $1/1000}')" "$cpu" "$per" "$others"
    [ "$sockerr" = 0 ] && echo || echo "  socket errors: $sockerr"
    # Every reply must be 2xx: wrk counts the others (its "Non-2xx or 3xx responses").
    if [ "$requests" = 0 ] || [ "$non2xx" != 0 ] || grep -q 'Non-2xx or 3xx responses' "$out"; then
        echo "  FAILED: $url: $requests requests, $non2xx of them not 2xx/3xx" >&2
        FAILED=1
    fi
    case $key in vg-*)
        kill -0 "$VG_PID" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$VG_PID/stat")" != Z ] || die "vidgen died during the run"
        ;;
    esac
    [ "$3" = 0 ] || echo "${key#*-} ${key%%-*} $3 $rps $p99 $p50 $per $cpu" >>"$RESULTS"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "vidgen vs nginx: same bytes, $CONNECTIONS connections, wrk -t$WRK_THREADS, ${DURATION}s per run, $ROUNDS round(s) after a ${WARMUP}s warm-up of each"
echo "  vidgen $VG ($VG_LOOPS event loop(s))   nginx $NG ($("$NGINX" -v 2>&1 | sed 's/.*: //'), worker_processes $NGINX_WORKERS)"
[ "$PIN" != 1 ] || echo "  pinned: vidgen and nginx on CPU 0, wrk on CPU 1"
echo "  replies: /models $(wc -c <"$TMP/www/models.json") B, /estimate-credits $(wc -c <"$TMP/www/estimate.json") B"
if [ "$WARMUP" -gt 0 ]; then
    for key in vg-models ng-models vg-estimate ng-estimate; do run "$key" "$WARMUP" 0; done
fi
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for ep in models estimate; do
        # Alternate which server goes first, so a drift in the machine's state favours neither.
        if [ $((r % 2)) = 1 ]; then run "vg-$ep" "$DURATION" "$r"; run "ng-$ep" "$DURATION" "$r"
        else run "ng-$ep" "$DURATION" "$r"; run "vg-$ep" "$DURATION" "$r"; fi
    done
    r=$((r + 1))
done

# vidgen still sends the bytes nginx was given.
curl -fsS -o "$TMP/check.json" "$VG$API/models" && cmp -s "$TMP/check.json" "$TMP/www/models.json" ||
    { echo "  FAILED: vidgen's /models reply changed during the run" >&2; FAILED=1; }

# --- 5. the table and the targets -----------------------------------------------------
# median ENDPOINT SERVER COLUMN (4 rps, 5 p99_us, 8 cpu_us): the median over the rounds.
median() {
    awk -v e="$1" -v s="$2" -v c="$3" '$1 == e && $2 == s { print $c }' "$RESULTS" | sort -g |
        awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
best() { # best rps (highest) or p99 (lowest)
    awk -v e="$1" -v s="$2" -v c="$3" '$1 == e && $2 == s { print $c }' "$RESULTS" | sort -g |
        if [ "$3" = 4 ]; then tail -n 1; else head -n 1; fi
}

echo
echo "Median of $ROUNDS round(s) ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, Linux $(uname -r)):"
echo
echo "| endpoint | req/s vidgen | req/s nginx | ratio | p99 vidgen | p99 nginx | p99 ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|"
SUMMARY=$TMP/summary
: >"$SUMMARY"
for ep in models estimate; do
    case $ep in models) name="GET /models" ;; estimate) name="POST /estimate-credits" ;; esac
    awk -v n="$name" -v ep="$ep" -v vr="$(median "$ep" vg 4)" -v nr="$(median "$ep" ng 4)" \
        -v vp="$(median "$ep" vg 5)" -v np="$(median "$ep" ng 5)" -v out="$SUMMARY" '
    function ratio(a, b) { return b > 0 ? a / b : 0 }
    BEGIN {
        printf "| %s | %.0f | %.0f | %.2f× | %.2f ms | %.2f ms | %.2f× |\n", n, vr, nr, ratio(vr, nr), vp / 1000, np / 1000, ratio(vp, np)
        printf "%s %s %.4f %.4f\n", ep, n, ratio(vr, nr), ratio(vp, np) >> out
    }'
done
echo
echo "Server CPU time per reply (median; user + system of vidgen's threads / nginx's workers):"
for ep in models estimate; do
    awk -v ep="$ep" -v v="$(median "$ep" vg 8)" -v n="$(median "$ep" ng 8)" \
        'BEGIN { printf "  %-9s vidgen %.1f µs, nginx %.1f µs (%.2f×)\n", ep, v, n, (n > 0 ? v / n : 0) }'
done
echo
if [ "$ROUNDS" -gt 1 ]; then
    echo "Best of the $ROUNDS rounds (highest req/s, lowest p99, each server on its own):"
    for ep in models estimate; do
        awk -v ep="$ep" -v vr="$(best "$ep" vg 4)" -v nr="$(best "$ep" ng 4)" -v vp="$(best "$ep" vg 5)" -v np="$(best "$ep" ng 5)" \
            'function ratio(a, b) { return b > 0 ? a / b : 0 }
            BEGIN { printf "  %-9s vidgen %.0f vs nginx %.0f req/s (%.2f×), p99 %.2f vs %.2f ms (%.2f×)\n", ep, vr, nr, ratio(vr, nr), vp / 1000, np / 1000, ratio(vp, np) }'
    done
    echo
fi
echo "Other processes used up to $BUSY_MAX% of the machine's CPU during a run (load average before / after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg))."
[ "$BUSY_MAX" -le 10 ] || echo "The machine was not idle: these figures are noisy; run again on a quiet machine."
echo
# Targets (DESIGN.md §3, §8): /models at least nginx's rate, /estimate-credits (computed per
# request) at least 0.6 of it, and a p99 at most 1.2 times nginx's for both.
awk '
function verdict(ok, what, got, want) { printf "%s  %s: %.2f× nginx (target %s)\n", ok ? "PASS" : "MISS", what, got, want }
{
    name = $2 " " $3; rps = $4; p99 = $5
    min = ($1 == "models") ? 1.0 : 0.6
    verdict(rps >= min, name " req/s", rps, sprintf("≥ %.1f×", min))
    verdict(p99 <= 1.2, name " p99", p99, "≤ 1.2×")
}' "$SUMMARY"

[ "$FAILED" = 0 ] || die "some runs failed (see above): the figures are not valid"
