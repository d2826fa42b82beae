#!/bin/sh
# bench/upload.sh: uploading a 9 MB JPEG to vidgen against nginx taking the same body, side by side.
#
#   sh bench/upload.sh          (from anywhere; builds build/vidgen if it is missing)
#
# One file, two servers, one run: the script makes a ~9 MB JPEG (4000x3000, 12 Mpx, ffmpeg's
# lavfi at -q:v 2 over a noisy picture, so that it is as costly to decode as a photograph of
# that size) and posts it with curl as the same multipart form (`-F file=@… -F type=start`)
#
#   - to vidgen: POST /api/apps/video-generator/upload-image with a user's Bearer token, the
#     whole route: the body streamed to a temporary file and hashed, the image checked (its
#     header and structure, then one full decode, on the offload pool) and linked under its
#     sha256 name. The first upload answers 201; each one after it 200 (the same image of the
#     same user, deduplicated after it is received, hashed and decoded like the first);
#   - to vidgen with a file of random bytes of the same size ("receive + hash"): the same
#     body read, written and hashed, then refused with 415 at the first bytes of the check;
#     what is left once the decode is taken out;
#   - to nginx (its own temporary configuration): `client_body_in_file_only clean` in a
#     location that proxies to a second location of the same server without the body
#     (`proxy_pass_request_body off`, the file's name in X-File), so nginx reads the whole
#     body into a file before it answers, as a front end for an upload service would. The
#     script checks once, in a location with `client_body_in_file_only on` (files kept), that
#     the file nginx wrote holds the whole body.
#
# Then, alternating which server goes first:
#
#   1. one upload at a time: BENCH_ROUNDS curl uploads per target; the figures are the
#      medians of uploads/s (1 / curl's time_total) and MB/s (body bytes / time_total,
#      1 MB = 10^6 bytes), and each server's CPU time per upload (the sum over its threads or
#      worker processes, from /proc/PID/task/*/schedstat): a figure that the machine's other
#      load disturbs less than a rate does;
#   2. BENCH_CLIENTS uploads at once: that many curl loops of BENCH_UPLOADS uploads each,
#      BENCH_CONC_ROUNDS times per target; the figure is the median of uploads / wall time.
#
# There is no target in the issue: vidgen's rates are given as a fraction of nginx's, and
# the decode's cost as the difference between the JPEG and the random bytes (INFO lines).
#
# The results are printed; with BENCH_RESULTS=FILE the section for bench/README.md (command,
# machine, table, INFO lines, date) is also written to FILE (overwritten).
#
# Environment (all optional):
#   BENCH_ROUNDS        one-at-a-time uploads per target (default 30)
#   BENCH_CLIENTS       curl loops at once (default 4)
#   BENCH_UPLOADS       uploads per loop in each concurrent round (default 5)
#   BENCH_CONC_ROUNDS   concurrent rounds per target (default 5)
#   VIDGEN_BIN          the binary to measure (default build/vidgen)
#   VIDGEN_THREADS      passed through to vidgen (default: one event loop per core)
#
# Exit status: 0 when every upload ran and got the status it should (201/200 from vidgen
# for the JPEG, 415 for the random bytes, 200 from nginx); 1 when something failed.
# shellcheck disable=SC2015 # "A && B || die": die when either fails, as meant
# shellcheck disable=SC2046 # set -- $(post ...): post prints three words on purpose
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VIDGEN_BIN=${VIDGEN_BIN:-$ROOT/build/vidgen}
ROUNDS=${BENCH_ROUNDS:-30}
CLIENTS=${BENCH_CLIENTS:-4}
UPLOADS=${BENCH_UPLOADS:-5}
CONC_ROUNDS=${BENCH_CONC_ROUNDS:-5}
RESULTS_MD=${BENCH_RESULTS:--}
API=/api/apps/video-generator
MAX_BYTES=10485760 # UPLOAD_MAX_BYTES (src/core/upload.h)

die() {
    printf 'bench/upload.sh: %s\n' "$*" >&2
    exit 1
}

for v in "$ROUNDS" "$CLIENTS" "$UPLOADS" "$CONC_ROUNDS"; do
    case $v in '' | *[!0-9]*) die "the BENCH_* settings take whole numbers, not '$v'" ;; esac
    [ "$v" -ge 1 ] || die "the BENCH_* settings must be at least 1"
done

# --- 1. tools -------------------------------------------------------------------------
. "$ROOT/bench/lib.sh"
bench_require curl:curl ffmpeg:ffmpeg python3:python3 nginx:nginx-light

# --- processes, temporary files and their cleanup -------------------------------------
TMP=""
VG_PID=""
NGINX_PID=""

stop_servers() {
    bench_stop "$NGINX_PID" QUIT # graceful: finish the replies in flight, then exit
    bench_stop "$VG_PID" TERM    # vidgen's graceful stop
}
bench_traps

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vidgen-upload.XXXXXX")
mkdir -p "$TMP/data" "$TMP/nginx/client_body" "$TMP/nginx/keep"

# --- 2. the files ---------------------------------------------------------------------
# A photograph-like load for the decoder: smooth shapes under strong luma and chroma noise,
# which keeps most DCT coefficients, at -q:v 2. ffmpeg 5.1 makes 9,150,672 bytes.
IMG=$TMP/photo.jpg
JUNK=$TMP/noise.jpg # a name as long as the JPEG's: the same form size
ffmpeg -v error -y -f lavfi \
    -i "nullsrc=s=4000x3000,geq=lum='128+50*sin(X/40)*cos(Y/55)+120*(random(1)-0.5)':cb='128+30*sin(X/90)+30*(random(1)-0.5)':cr='128+30*cos(Y/70)+30*(random(1)-0.5)'" \
    -frames:v 1 -q:v 2 "$IMG" || die "ffmpeg cannot make the JPEG"
IMG_SIZE=$(wc -c <"$IMG")
[ "$IMG_SIZE" -lt $((MAX_BYTES - 65536)) ] || die "the JPEG is $IMG_SIZE bytes, over vidgen's limit ($MAX_BYTES)"
[ "$IMG_SIZE" -ge 8500000 ] && [ "$IMG_SIZE" -le 9500000 ] ||
    echo "note: this ffmpeg made a $IMG_SIZE-byte JPEG, outside 8.5-9.5 MB; the figures are for that size" >&2
head -c "$IMG_SIZE" /dev/urandom >"$JUNK"
# No JPEG, PNG or WebP magic at the start, so vidgen refuses it at once (after the body).
printf 'RANDOM' | dd of="$JUNK" conv=notrunc status=none

# --- 3. vidgen and a user -------------------------------------------------------------
VG_PORT=$(free_port)
VG=http://127.0.0.1:$VG_PORT
VG_ENV="VIDGEN_ADDR=127.0.0.1:$VG_PORT VIDGEN_DATA_DIR=$TMP/data VIDGEN_ACCESS_LOG=off VIDGEN_UPLOAD_QUOTA_MB=1000000"
# cwd $TMP: no stray .env is read. exec: $! is vidgen itself. No worker: nothing to run.
# shellcheck disable=SC2086 # VG_ENV is words on purpose
(cd "$TMP" && exec env $VG_ENV "$VIDGEN_BIN" serve --no-worker) >"$TMP/vidgen.log" 2>&1 &
VG_PID=$!
wait_for "$VG/healthz" "$VG_PID" vidgen
VG_LOOPS=$(sed -n 's/.* with \([0-9]*\) event loops*$/\1/p' "$TMP/vidgen.log" | head -n 1)

# shellcheck disable=SC2086
TOKEN=$(cd "$TMP" && env $VG_ENV "$VIDGEN_BIN" user add bench 2>>"$TMP/vidgen.log") || die "vidgen user add failed"
AUTH="Authorization: Bearer $TOKEN"
VG_URL=$VG$API/upload-image

# --- 4. nginx, reading each body into a file ------------------------------------------
NGINX_PORT=$(free_port)
NG=http://127.0.0.1:$NGINX_PORT
NG_URL=$NG/upload
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;" # workers must write in $TMP (mode 0700)
cat >"$TMP/nginx.conf" <<EOF
# Written by bench/upload.sh: nginx reading a request body into a file, then answering.
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
    keepalive_requests 100000;
    client_max_body_size 20m;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    upstream self {
        server 127.0.0.1:$NGINX_PORT;
        keepalive 16;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        # The body goes to a file (removed once answered); the answer comes from /done,
        # which gets the file's name and no body.
        location = /upload {
            client_body_in_file_only clean;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-File \$request_body_file;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://self/done;
        }
        # The same, keeping the file: for the check that nginx wrote the whole body.
        location = /keep {
            client_body_temp_path $TMP/nginx/keep;
            client_body_in_file_only on;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-File \$request_body_file;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://self/done;
        }
        location = /done {
            default_type text/plain;
            return 200 "\$http_x_file\n";
        }
        location = /healthz {
            return 200 "ok\n";
        }
    }
}
EOF
"$NGINX" -t -q -p "$TMP/nginx/" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" || die "nginx rejects its configuration"
"$NGINX" -p "$TMP/nginx/" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" &
NGINX_PID=$!
wait_for "$NG/healthz" "$NGINX_PID" nginx

# --- 5. checks: each server answers as it should, nginx really keeps the body ---------
# post URL FILE [OUT]: one upload of FILE as the form; prints "status body_bytes seconds".
post() {
    curl -s -o "${3:-/dev/null}" -H "$AUTH" -F "file=@$2;type=image/jpeg" -F type=start \
        -w '%{http_code} %{size_upload} %{time_total}' "$1" || echo "000 0 0"
}

# fresh FILE OUT TAG: a copy of FILE that no upload has sent before, for every target
# alike (outside curl's timing): vidgen answers an image its user already uploaded from
# its row without decoding it again, so each JPEG upload carries a JPEG comment segment
# (COM, 12 bytes) with a new tag after SOI: the same picture and decode, a new SHA-256.
fresh() {
    { head -c 2 "$1"; printf '\377\376\000\012%08d' "$3"; tail -c +3 "$1"; } >"$2"
}
SEQ=0
mkdir -p "$TMP/chk" "$TMP/chj" "$TMP/one"
fresh "$IMG" "$TMP/chk/up.bin" 0
fresh "$JUNK" "$TMP/chj/up.bin" 0
set -- $(post "$VG_URL" "$TMP/chk/up.bin" "$TMP/reply.json")
[ "$1" = 201 ] || die "vidgen answered $1, not 201, to the first upload of the JPEG: $(cat "$TMP/reply.json" 2>/dev/null)"
BODY_SIZE=$2
python3 - "$TMP/reply.json" "$((IMG_SIZE + 12))" <<'EOF' || die "vidgen's reply to the upload is not what it should be"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["fileSize"] == int(sys.argv[2]) and r["width"] == 4000 and r["height"] == 3000, r
assert r["mimeType"] == "image/jpeg" and not r["duplicate"], r
EOF
set -- $(post "$VG_URL" "$TMP/chk/up.bin" "$TMP/reply.json")
[ "$1" = 200 ] && grep -q '"duplicate":true' "$TMP/reply.json" ||
    die "vidgen answered $1 to the same upload again, not 200 with duplicate: $(cat "$TMP/reply.json" 2>/dev/null)"
set -- $(post "$VG_URL" "$TMP/chj/up.bin" "$TMP/reply.json")
[ "$1" = 415 ] || die "vidgen answered $1, not 415, to the random bytes: $(cat "$TMP/reply.json" 2>/dev/null)"
[ "$2" = "$BODY_SIZE" ] || die "the two forms differ in size ($BODY_SIZE and $2 bytes)"

set -- $(post "$NG/keep" "$TMP/chk/up.bin" "$TMP/reply.txt")
[ "$1" = 200 ] || die "nginx answered $1 on /keep"
KEPT=$(cat "$TMP/reply.txt")
case $KEPT in "$TMP"/nginx/keep/*) ;; *) die "nginx's /keep names no body file: '$KEPT'" ;; esac
[ -f "$KEPT" ] && [ "$(wc -c <"$KEPT")" = "$BODY_SIZE" ] ||
    die "nginx's body file $KEPT is not the $BODY_SIZE-byte body"
rm -f "$KEPT"
set -- $(post "$NG_URL" "$TMP/chk/up.bin" "$TMP/reply.txt")
[ "$1" = 200 ] || die "nginx answered $1 on /upload"
case $(cat "$TMP/reply.txt") in "$TMP"/nginx/client_body/*) ;; *) die "nginx's /upload names no body file" ;; esac
[ -z "$(ls -A "$TMP/nginx/client_body")" ] || die "nginx left the body file on /upload"

# --- 6. the runs ----------------------------------------------------------------------
RESULTS=$TMP/results # lines: kind target uploads/s MB/s cpu_ms
FAILED=0
TARGETS="vidgen random nginx"

alive_check() {
    kill -0 "$VG_PID" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$VG_PID/stat")" != Z ] || die "vidgen died during the run"
}

# cpu_ns SERVER: nanoseconds on CPU so far, over vidgen's threads or nginx's workers.
cpu_ns() {
    if [ "$1" = nginx ]; then
        pids=$(grep -l "^PPid:[[:space:]]*$NGINX_PID\$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3 | tr '\n' ' ')
    else
        pids=$VG_PID
    fi
    for p in $pids; do cat /proc/"$p"/task/*/schedstat; done | awk '{ s += $1 } END { printf "%.0f", s }'
}

# CPU ticks (USER_HZ) the whole machine spent busy so far, from /proc/stat's first line.
busy_ticks() {
    head -n 1 /proc/stat | awk '{ print $2 + $3 + $4 + $7 + $8 + $9 }'
}
# CPU ticks of this script and of the children it waited for (curl, awk, ...) so far.
self_ticks() {
    sed 's/^.*) //' "/proc/$$/stat" | awk '{ print $12 + $13 + $14 + $15 }'
}
# others B0 B1 S0 S1 SERVER_NS WALL_NS: the share (%) of the machine that neither the
# servers nor this script and its clients used, over a stretch.
others() {
    awk -v b="$(($2 - $1))" -v s="$(($4 - $3))" -v c="$5" -v w="$6" -v hz="$(getconf CLK_TCK)" -v n="$(nproc)" 'BEGIN {
        o = (b - s) / hz - c / 1e9; if (o < 0) o = 0; printf "%.0f", 100 * o / (w / 1e9 * n)
    }'
}
OTHERS_MAX=0
note_others() {
    [ "$1" -le "$OTHERS_MAX" ] || OTHERS_MAX=$1
}

# What each target is posted and answers: sets url, file, want.
target() {
    case $1 in
    vidgen) url=$VG_URL file=$IMG want=201 ;;
    random) url=$VG_URL file=$JUNK want=415 ;;
    nginx) url=$NG_URL file=$IMG want=200 ;;
    esac
}


# one_run TARGET: one upload.
one_run() {
    target "$1"
    SEQ=$((SEQ + 1))
    fresh "$file" "$TMP/one/up.bin" "$SEQ"
    c0=$(cpu_ns "$1")
    set -- "$1" $(post "$url" "$TMP/one/up.bin")
    c1=$(cpu_ns "$1")
    if [ "$2" != "$want" ] || [ "$3" != "$BODY_SIZE" ]; then
        echo "  FAILED: $1: status $2 (not $want), $3 of $BODY_SIZE bytes sent" >&2
        FAILED=1
        return 0
    fi
    awk -v t="$1" -v b="$3" -v s="$4" -v c="$((c1 - c0))" -v out="$RESULTS" 'BEGIN {
        printf "  one    %-7s %6.2f uploads/s %7.1f MB/s %7.1f ms CPU\n", t, 1 / s, b / s / 1e6, c / 1e6
        printf "one %s %.3f %.1f %.2f\n", t, 1 / s, b / s / 1e6, c / 1e6 >>out
    }'
    [ "$1" = nginx ] || alive_check
}

# conc_run TARGET: BENCH_CLIENTS loops of BENCH_UPLOADS uploads at once.
conc_run() {
    target "$1"
    SEQ=$((SEQ + 1))
    rm -f "$TMP"/codes.*
    pids=""
    c0=$(cpu_ns "$1")
    b0=$(busy_ticks)
    s0=$(self_ticks)
    t0=$(date +%s%N)
    c=1
    while [ "$c" -le "$CLIENTS" ]; do
        mkdir -p "$TMP/c$c"
        (
            i=1
            while [ "$i" -le "$UPLOADS" ]; do
                fresh "$file" "$TMP/c$c/up.bin" "$((SEQ * 1000 + c * 100 + i))"
                post "$url" "$TMP/c$c/up.bin" >>"$TMP/codes.$c"
                echo >>"$TMP/codes.$c"
                i=$((i + 1))
            done
        ) &
        pids="$pids $!"
        c=$((c + 1))
    done
    # shellcheck disable=SC2086 # one word per pid
    wait $pids
    t1=$(date +%s%N)
    b1=$(busy_ticks)
    s1=$(self_ticks)
    c1=$(cpu_ns "$1")
    o=$(others "$b0" "$b1" "$s0" "$s1" "$((c1 - c0))" "$((t1 - t0))")
    note_others "$o"
    n=$((CLIENTS * UPLOADS))
    good=$(cat "$TMP"/codes.* | awk -v w="$want" -v b="$BODY_SIZE" '$1 == w && $2 == b' | wc -l)
    if [ "$good" != "$n" ]; then
        echo "  FAILED: $1: $good of $n uploads at once answered $want; statuses: $(cut -d' ' -f1 "$TMP"/codes.* | sort | uniq -c | tr '\n' ' ')" >&2
        FAILED=1
        return 0
    fi
    awk -v t="$1" -v n="$n" -v b="$BODY_SIZE" -v s="$(((t1 - t0) / 1000))" -v c="$((c1 - c0))" -v k="$CLIENTS" -v out="$RESULTS" -v o="$o" 'BEGIN {
        s /= 1e6
        printf "  %d×%-3d %-7s %6.2f uploads/s %7.1f MB/s %7.1f ms CPU per upload (%.2f cores; others %d%%)\n", k, n / k, t, n / s, n * b / s / 1e6, c / 1e6 / n, c / 1e9 / s, o
        printf "conc %s %.3f %.1f %.2f\n", t, n / s, n * b / s / 1e6, c / 1e6 / n >>out
    }'
    [ "$1" = nginx ] || alive_check
}

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "uploading a $IMG_SIZE-byte JPEG (4000x3000) as a $BODY_SIZE-byte form: vidgen $VG ($VG_LOOPS event loops) vs nginx $("$NGINX" -v 2>&1 | sed 's/.*: //') (client_body_in_file_only); load average $LOAD"
for t in $TARGETS; do one_run "$t" >/dev/null; done # warm-up, not recorded
: >"$RESULTS"
one_c0=$(($(cpu_ns vidgen) + $(cpu_ns nginx)))
one_b0=$(busy_ticks)
one_s0=$(self_ticks)
one_t0=$(date +%s%N)
r=1
while [ "$r" -le "$ROUNDS" ]; do
    if [ $((r % 2)) = 1 ]; then order="vidgen random nginx"; else order="nginx random vidgen"; fi
    for t in $order; do one_run "$t"; done
    r=$((r + 1))
done
one_t1=$(date +%s%N)
one_b1=$(busy_ticks)
one_s1=$(self_ticks)
one_c1=$(($(cpu_ns vidgen) + $(cpu_ns nginx)))
OTHERS_ONE=$(others "$one_b0" "$one_b1" "$one_s0" "$one_s1" "$((one_c1 - one_c0))" "$((one_t1 - one_t0))")
echo "  (others: $OTHERS_ONE% of the machine over the one-at-a-time uploads)"
r=1
while [ "$r" -le "$CONC_ROUNDS" ]; do
    if [ $((r % 2)) = 1 ]; then order="vidgen random nginx"; else order="nginx random vidgen"; fi
    for t in $order; do conc_run "$t"; done
    r=$((r + 1))
done
[ "$FAILED" = 0 ] || die "some uploads failed (see above): the figures are not valid"
# Every JPEG upload was a new image (its own tag): one stored file each, all whole.
STORED=$(find "$TMP/data/uploads" -type f -size "$((IMG_SIZE + 12))c" | wc -l)
[ "$STORED" = "$(find "$TMP/data/uploads" -type f | wc -l)" ] && [ "$STORED" -ge $((ROUNDS + CONC_ROUNDS * CLIENTS * UPLOADS + 1)) ] ||
    die "vidgen holds $STORED whole stored images, not one per JPEG upload"
[ -z "$(ls -A "$TMP/data/tmp")" ] || die "vidgen left temporary files in data/tmp"
[ -z "$(ls -A "$TMP/nginx/client_body")" ] || die "nginx left body files"

# --- 7. the table ---------------------------------------------------------------------
# median KIND TARGET COLUMN (3 uploads/s, 4 MB/s, 5 CPU ms)
median() {
    awk -v k="$1" -v s="$2" -v c="$3" '$1 == k && $2 == s { print $c }' "$RESULTS" | sort -g |
        awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# range_of KIND TARGET COLUMN FORMAT: "slowest–fastest"
range_of() {
    awk -v k="$1" -v s="$2" -v c="$3" '$1 == k && $2 == s { print $c }' "$RESULTS" | sort -g |
        awk -v f="$4" 'NR == 1 { lo = $1 } { hi = $1 } END { printf f "–" f, lo, hi }'
}

DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MEM=$(awk '/^MemTotal/ { printf "%.0f GB", $2 / 1e6 }' /proc/meminfo)
H2O=$(dpkg-query -W -f='${Version}' libh2o-evloop-dev 2>/dev/null || echo unknown)
TABLE=$TMP/table.md
{
    echo "| measure | vidgen (JPEG) | vidgen, receive + hash only (random bytes, 415) | nginx | vidgen / nginx |"
    echo "|---|---:|---:|---:|---:|"
    for k in one conc; do
        case $k in
        one) what="one at a time (median of $ROUNDS)" ;;
        conc) what="$CLIENTS at once ($CLIENTS×$UPLOADS uploads, median of $CONC_ROUNDS)" ;;
        esac
        for col in 3 4 5; do
            case $col in
            3) name="uploads/s, $what"; fmt="%.2f"; unit="" ;;
            4) name="MB/s, $what"; fmt="%.0f"; unit="" ;;
            5) name="server CPU per upload, $what (lower is better)"; fmt="%.1f"; unit=" ms" ;;
            esac
            awk -v n="$name" -v f="$fmt" -v u="$unit" -v v="$(median $k vidgen $col)" -v j="$(median $k random $col)" \
                -v g="$(median $k nginx $col)" -v vr="$(range_of $k vidgen $col "$fmt")" \
                -v jr="$(range_of $k random $col "$fmt")" -v gr="$(range_of $k nginx $col "$fmt")" 'BEGIN {
                printf "| %s | " f "%s (%s) | " f "%s (%s) | " f "%s (%s) | %.2f |\n", n, v, u, vr, j, u, jr, g, u, gr, v / g
            }'
        done
    done
} >"$TABLE"
INFO=$TMP/info.txt
{
    for k in one conc; do
        case $k in one) what="one at a time" ;; conc) what="$CLIENTS at once" ;; esac
        case $k in one) o="others $OTHERS_ONE %" ;; conc) o="others up to $OTHERS_MAX %" ;; esac
        awk -v w="$what" -v v="$(median $k vidgen 3)" -v j="$(median $k random 3)" -v g="$(median $k nginx 3)" \
            -v vc="$(median $k vidgen 5)" -v jc="$(median $k random 5)" -v gc="$(median $k nginx 5)" -v o="$o" 'BEGIN {
            printf "INFO  %s: vidgen %.2f uploads/s = %.2fx nginx (%.2f); receive + hash alone %.2f = %.2fx nginx (%s)\n", w, v, v / g, g, j, j / g, o
            printf "INFO  %s: server CPU per upload vidgen %.1f ms (receive + hash %.1f, decode check %.1f = %.0f %%), nginx %.1f ms\n", w, vc, jc, vc - jc, 100 * (vc - jc) / vc, gc
        }'
    done
} >"$INFO"
echo
echo "$DATE; $(nproc) cores ($CPU), $MEM, Linux $(uname -r); libh2o $H2O:"
echo
cat "$TABLE"
echo
cat "$INFO"

if [ "$RESULTS_MD" != "-" ]; then
    cat >"$RESULTS_MD" <<EOF
Command: \`sh bench/upload.sh\` (BENCH_ROUNDS=$ROUNDS BENCH_CLIENTS=$CLIENTS BENCH_UPLOADS=$UPLOADS BENCH_CONC_ROUNDS=$CONC_ROUNDS)

Date: $DATE. Machine: $(nproc) cores ($CPU), $MEM, Linux $(uname -r), load average before the
run $LOAD. vidgen with $VG_LOOPS event loops (libh2o-evloop $H2O), \`POST $API/upload-image\`; nginx
$("$NGINX" -v 2>&1 | sed 's/.*: //'), worker_processes auto, \`client_body_in_file_only clean\`. A $IMG_SIZE-byte JPEG
(4000x3000), sent by curl as a $BODY_SIZE-byte multipart form. Client and servers share the machine, on loopback.
MB = 10^6 bytes of body; in brackets, the slowest and the fastest run.

$(cat "$TABLE")

\`\`\`
$(cat "$INFO")
\`\`\`
EOF
    echo
    echo "written to $RESULTS_MD"
fi
