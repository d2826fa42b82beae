#!/bin/sh
# bench/download.sh: downloading a 100 MB video from vidgen against nginx, side by side.
#
#   sh bench/download.sh        (from anywhere; builds build/vidgen if it is missing)
#
# One file, two servers, one run: the script makes BENCH_SIZE_MB of random bytes, serves it
# through vidgen as a completed generation of a user it creates (GET /download/:id, with
# the user's token: the whole authorised path, store lookup included) and through nginx
# (its own temporary configuration, sendfile on, access_log off) straight from the same
# file, so both read the same page cache. Then, alternating which server goes first:
#
#   1. single download: `curl -o /dev/null` of the whole file, BENCH_ROUNDS times per
#      server; the figure is the median MB/s (1 MB = 10^6 bytes);
#   2. concurrent downloads: wrk, BENCH_CONNECTIONS connections for BENCH_SECONDS,
#      BENCH_WRK_ROUNDS times per server; the figure is the median of bytes received / s.
#
# Beside the rates, the CPU time each server spent during the single downloads, per GB
# sent (the sum over its threads or worker processes): a figure that the machine's other
# load disturbs less than a rate does.
#
# The target (DESIGN §8) is vidgen at >= 90 % of nginx in both. Both send with sendfile():
# nginx natively, vidgen from its generator around h2o 2.2, which has none (src/http/file.c).
#
# The results are printed; with BENCH_RESULTS=FILE they are also written (command, machine,
# figures, date) to FILE, keeping what follows a line "<!-- notes -->" in it. The figures in
# bench/README.md come from such a run.
#
# Environment (all optional):
#   BENCH_SIZE_MB       size of the file (default 100)
#   BENCH_ROUNDS        curl downloads per server (default 25)
#   BENCH_CONNECTIONS   wrk connections (default 4)
#   BENCH_SECONDS       length of each wrk run (default 10)
#   BENCH_WRK_ROUNDS    wrk runs per server (default 2)
#   VIDGEN_BIN          the binary to measure (default build/vidgen)
#   VIDGEN_THREADS      passed through to vidgen (default: one event loop per core)
#
# Exit status: 0 when every run ran and every reply was complete, whether or not the
# target is met (PASS/MISS is information); 1 when something failed.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VIDGEN_BIN=${VIDGEN_BIN:-$ROOT/build/vidgen}
SIZE_MB=${BENCH_SIZE_MB:-100}
ROUNDS=${BENCH_ROUNDS:-25}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
DURATION=${BENCH_SECONDS:-10}
WRK_ROUNDS=${BENCH_WRK_ROUNDS:-2}
RESULTS_MD=${BENCH_RESULTS:--}
API=/api/apps/video-generator
TARGET=0.90

die() {
    printf 'bench/download.sh: %s\n' "$*" >&2
    exit 1
}

for v in "$SIZE_MB" "$ROUNDS" "$CONNECTIONS" "$DURATION" "$WRK_ROUNDS"; do
    case $v in '' | *[!0-9]*) die "the BENCH_* settings take whole numbers, not '$v'" ;; esac
    [ "$v" -ge 1 ] || die "the BENCH_* settings must be at least 1"
done

# --- 1. tools -------------------------------------------------------------------------
. "$ROOT/bench/lib.sh"
bench_require curl:curl wrk:wrk python3:python3 nginx:nginx-light

# --- processes, temporary files and their cleanup -------------------------------------
TMP=""
VG_PID=""
NGINX_PID=""

stop_servers() {
    bench_stop "$NGINX_PID" QUIT # graceful: finish the replies in flight, then exit
    bench_stop "$VG_PID" TERM    # vidgen's graceful stop
}
bench_traps

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vidgen-download.XXXXXX")
mkdir -p "$TMP/data/videos" "$TMP/nginx"

# --- 2. vidgen, a user, a project and a completed generation --------------------------
VG_PORT=$(free_port)
VG=http://127.0.0.1:$VG_PORT
VG_ENV="VIDGEN_ADDR=127.0.0.1:$VG_PORT VIDGEN_DATA_DIR=$TMP/data VIDGEN_ACCESS_LOG=off"
# cwd $TMP: no stray .env is read. exec: $! is vidgen itself. No worker: nothing to run.
# shellcheck disable=SC2086 # VG_ENV is words on purpose
(cd "$TMP" && exec env $VG_ENV "$VIDGEN_BIN" serve --no-worker) >"$TMP/vidgen.log" 2>&1 &
VG_PID=$!
wait_for "$VG/healthz" "$VG_PID" vidgen
VG_LOOPS=$(sed -n 's/.* with \([0-9]*\) event loops*$/\1/p' "$TMP/vidgen.log" | head -n 1)

# shellcheck disable=SC2086
TOKEN=$(cd "$TMP" && env $VG_ENV "$VIDGEN_BIN" user add bench 2>>"$TMP/vidgen.log") || die "vidgen user add failed"
AUTH="Authorization: Bearer $TOKEN"
PROJECT=$(curl -fsS -H "$AUTH" -H 'Content-Type: application/json' --data-binary '{"name":"bench"}' \
    "$VG$API/projects" | python3 -c 'import json, sys; print(json.load(sys.stdin)["project"]["id"])') ||
    die "POST $API/projects failed"

# The id has util/id.h's shape; the row is what the pipeline leaves behind on completion.
GEN=$(python3 -c 'import secrets; print("".join(secrets.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(26)))')
FILE=$TMP/data/videos/$GEN.mp4
head -c "${SIZE_MB}M" /dev/urandom >"$FILE"
SIZE=$(wc -c <"$FILE")
python3 - "$TMP/data/vidgen.db" "$GEN" "$PROJECT" <<'EOF' || die "cannot insert the generation"
import sqlite3, sys, time
db, gen, project = sys.argv[1:4]
now = int(time.time() * 1000)
con = sqlite3.connect(db, timeout=10)
uid = con.execute("SELECT id FROM users WHERE name = 'bench'").fetchone()[0]
con.execute(
    "INSERT INTO generations (id, project_id, user_id, provider, model_id, model_name, prompt, resolution, "
    "duration, aspect_ratio, credit_used, status, phase, progress, next_run_at, output_path, created_at, "
    "updated_at, completed_at) VALUES (?, ?, ?, 'local', 'local-preview', 'Local Preview Renderer', 'bench', "
    "'720p', 5, '16:9', 10, 'completed', 'done', 100, ?, ?, ?, ?, ?)",
    (gen, project, uid, now, f"videos/{gen}.mp4", now, now, now))
con.commit()
EOF
VG_URL=$VG$API/download/$GEN

# --- 3. nginx on the same file --------------------------------------------------------
NGINX_PORT=$(free_port)
NG_URL=http://127.0.0.1:$NGINX_PORT/videos/$GEN.mp4
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;" # workers must read $TMP (mode 0700)
cat >"$TMP/nginx.conf" <<EOF
# Written by bench/download.sh: nginx serving the same file from disk.
$USER_LINE
daemon off;
worker_processes auto;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types { }
    default_type video/mp4;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/data;
        location /videos/ { }
    }
}
EOF
"$NGINX" -t -q -p "$TMP/nginx/" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" || die "nginx rejects its configuration"
"$NGINX" -p "$TMP/nginx/" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" &
NGINX_PID=$!
wait_for "$NG_URL" "$NGINX_PID" nginx

# Both send the file, all of it, and nothing else.
for who in vidgen nginx; do
    if [ $who = vidgen ]; then url=$VG_URL; else url=$NG_URL; fi
    curl -fsS -H "$AUTH" -o "$TMP/check.bin" "$url" || die "$who: GET $url failed"
    cmp -s "$TMP/check.bin" "$FILE" || die "$who does not send the file's bytes"
done
rm -f "$TMP/check.bin"
cat "$FILE" >/dev/null # in the page cache for both

# --- 4. the runs ----------------------------------------------------------------------
RESULTS=$TMP/results # lines: kind server MB/s
FAILED=0

alive_check() {
    kill -0 "$VG_PID" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$VG_PID/stat")" != Z ] || die "vidgen died during the run"
}

# curl_run SERVER: one whole download.
curl_run() {
    if [ "$1" = vidgen ]; then url=$VG_URL; else url=$NG_URL; fi
    out=$(curl -s -o /dev/null -H "$AUTH" -w '%{http_code} %{size_download} %{speed_download}' "$url") || true
    set -- "$1" $out
    if [ "${2:-}" != 200 ] || [ "${3:-}" != "$SIZE" ]; then
        echo "  FAILED: $1: status ${2:-none}, ${3:-0} of $SIZE bytes" >&2
        FAILED=1
        return 0
    fi
    mbs=$(awk -v b="$4" 'BEGIN { printf "%.1f", b / 1e6 }')
    printf '  curl  %-7s %8s MB/s\n' "$1" "$mbs"
    echo "curl $1 $mbs" >>"$RESULTS"
    [ "$1" != vidgen ] || alive_check
}

# wrk_run SERVER: BENCH_CONNECTIONS connections downloading for BENCH_SECONDS.
wrk_run() {
    if [ "$1" = vidgen ]; then url=$VG_URL; else url=$NG_URL; fi
    out=$TMP/wrk-$1.txt
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 120s -H "$AUTH" -s "$ROOT/bench/http.lua" "$url" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed against $url"; }
    line=$(grep '^BENCH ' "$out") || { cat "$out" >&2; die "wrk printed no summary for $url"; }
    f() { printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    if [ "$(f requests)" = 0 ] || [ "$(f non2xx)" != 0 ]; then
        echo "  FAILED: wrk $1: $(f requests) replies, $(f non2xx) not 2xx" >&2
        FAILED=1
    fi
    mbs=$(awk -v b="$(f bytes)" -v s="$(f seconds)" 'BEGIN { printf "%.1f", b / s / 1e6 }')
    printf '  wrk   %-7s %8s MB/s  (%s whole files in %ss, %s connections)\n' "$1" "$mbs" "$(f requests)" "$(f seconds)" "$CONNECTIONS"
    echo "wrk $1 $mbs" >>"$RESULTS"
    [ "$1" != vidgen ] || alive_check
}

# cpu_ns SERVER: nanoseconds on CPU so far, over vidgen's threads or nginx's workers.
cpu_ns() {
    if [ "$1" = vidgen ]; then
        pids=$VG_PID
    else
        pids=$(grep -l "^PPid:[[:space:]]*$NGINX_PID\$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3 | tr '\n' ' ')
    fi
    for p in $pids; do cat /proc/"$p"/task/*/schedstat; done | awk '{ s += $1 } END { printf "%.0f", s }'
}

echo "downloading a $SIZE_MB MB file: vidgen $VG ($VG_LOOPS event loops) vs nginx $("$NGINX" -v 2>&1 | sed 's/.*: //') (sendfile on)"
curl_run vidgen >/dev/null # warm-up, not recorded
curl_run nginx >/dev/null
: >"$RESULTS"
CPU0_VG=$(cpu_ns vidgen)
CPU0_NG=$(cpu_ns nginx)
r=1
while [ "$r" -le "$ROUNDS" ]; do
    if [ $((r % 2)) = 1 ]; then curl_run vidgen; curl_run nginx; else curl_run nginx; curl_run vidgen; fi
    r=$((r + 1))
done
# ms of CPU per GB sent (each sent ROUNDS whole files)
CPU_VG=$(awk -v a="$CPU0_VG" -v b="$(cpu_ns vidgen)" -v n="$ROUNDS" -v s="$SIZE" 'BEGIN { printf "%.0f", (b - a) / 1e6 / (n * s / 1e9) }')
CPU_NG=$(awk -v a="$CPU0_NG" -v b="$(cpu_ns nginx)" -v n="$ROUNDS" -v s="$SIZE" 'BEGIN { printf "%.0f", (b - a) / 1e6 / (n * s / 1e9) }')
r=1
while [ "$r" -le "$WRK_ROUNDS" ]; do
    if [ $((r % 2)) = 1 ]; then wrk_run vidgen; wrk_run nginx; else wrk_run nginx; wrk_run vidgen; fi
    sleep 1
    r=$((r + 1))
done
[ "$FAILED" = 0 ] || die "some downloads failed (see above): the figures are not valid"

# --- 5. the table and the target ------------------------------------------------------
median() {
    awk -v k="$1" -v s="$2" '$1 == k && $2 == s { print $3 }' "$RESULTS" | sort -g |
        awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
range_of() {
    awk -v k="$1" -v s="$2" '$1 == k && $2 == s { print $3 }' "$RESULTS" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'
}

DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MEM=$(awk '/^MemTotal/ { printf "%.0f GB", $2 / 1e6 }' /proc/meminfo)
H2O=$(dpkg-query -W -f='${Version}' libh2o-evloop-dev 2>/dev/null || echo unknown)
TABLE=$TMP/table.md
{
    echo "| measure | vidgen | nginx | ratio | target | |"
    echo "|---|---:|---:|---:|---:|---|"
    awk -v v="$CPU_VG" -v g="$CPU_NG" 'BEGIN {
        printf "| server CPU per GB sent, single downloads (lower is better) | %d ms | %d ms | %.2f | | |\n", v, g, v / g
    }'
    for k in curl wrk; do
        case $k in
        curl) name="one download at a time (curl, median of $ROUNDS)" ;;
        wrk) name="$CONNECTIONS concurrent downloads (wrk ${DURATION}s, median of $WRK_ROUNDS)" ;;
        esac
        awk -v n="$name" -v v="$(median $k vidgen)" -v g="$(median $k nginx)" -v vr="$(range_of $k vidgen)" \
            -v gr="$(range_of $k nginx)" -v t="$TARGET" 'BEGIN {
            printf "| %s | %.0f MB/s (%s) | %.0f MB/s (%s) | %.2f | ≥ %.2f | %s |\n", n, v, vr, g, gr, v / g, t, (v / g >= t) ? "PASS" : "MISS"
        }'
    done
} >"$TABLE"
echo
echo "$DATE; $(nproc) cores ($CPU), $MEM, Linux $(uname -r); libh2o $H2O:"
echo
cat "$TABLE"

if [ "$RESULTS_MD" != "-" ]; then
    NOTES=""
    [ -f "$RESULTS_MD" ] && NOTES=$(sed -n '/^<!-- notes -->$/,$p' "$RESULTS_MD")
    [ -n "$NOTES" ] || NOTES="<!-- notes -->"
    cat >"$RESULTS_MD" <<EOF
# Download throughput: vidgen against nginx

Command: \`sh bench/download.sh\` (BENCH_SIZE_MB=$SIZE_MB BENCH_ROUNDS=$ROUNDS BENCH_CONNECTIONS=$CONNECTIONS BENCH_SECONDS=$DURATION BENCH_WRK_ROUNDS=$WRK_ROUNDS)

Date: $DATE. Machine: $(nproc) cores ($CPU), $MEM, Linux $(uname -r). vidgen with $VG_LOOPS event loops
(libh2o-evloop $H2O), \`GET $API/download/:id\` with a Bearer token (store lookup included); nginx
$("$NGINX" -v 2>&1 | sed 's/.*: //'), worker_processes auto, sendfile on, serving the same $SIZE_MB MB file
(random bytes) from the page cache. Client and servers share the machine, on loopback.
MB = 10^6 bytes; in brackets, the slowest and the fastest run.

$(cat "$TABLE")

$NOTES
EOF
    echo
    echo "written to $RESULTS_MD"
fi
