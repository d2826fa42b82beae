#!/bin/sh
# bench/web.sh: the web app's first render and the bytes it costs on a cold cache, in
# Chromium, against two references served by nginx in the same run.
#
#   sh bench/web.sh          (from anywhere; builds build/vidgen if it is missing; ~1 minute)
#
# Three targets, each opened BENCH_ROUNDS times per network profile in a fresh Chromium
# context (empty cache, new connections), the order alternating between rounds:
#   - vidgen: `/` of `vidgen serve` (a fresh data directory, --no-worker): index.html, then the
#     app's stylesheet and ES modules (Preact, htm and the app) from /assets/<hash>/, gzipped
#     where it helps, then GET /auth/session, after which the app draws the login form;
#   - nginx, same bytes: the same build (build/web: index.html and /assets/<hash>/, with the
#     same .gz files, sent by gzip_static) served by nginx. /auth/session is a 404 there and
#     the app draws the same login form. The difference to vidgen is the serving alone;
#   - nginx, static page: the login form as the app draws it, written as plain HTML with the
#     app's stylesheet and no script: what the page costs without the app (the floor).
# bench/web.mjs measures in the page: "first render" is the paint of the login heading by
# Element Timing (PerformanceObserver, type "element"), FCP the first-contentful-paint, the
# bytes the transferSize of the page and of every resource loaded before that paint.
# Two network profiles: loopback as it is, and one throttled by Chromium (BENCH_RTT_MS of
# latency per request, BENCH_MBIT Mbit/s down), where the app's chain of module imports shows.
#
# Budget (bench/README.md): vidgen's `/` transfers at most 60 KB before its first render,
# renders first within 250 ms on loopback (a static page takes 80-120 ms to its first paint
# in this headless Chromium) and within 6 round trips + 100 ms when throttled.
#
# Environment (all optional):
#   BENCH_ROUNDS   visits per target and profile (default 15)
#   BENCH_RTT_MS   latency per request in the throttled profile (default 50)
#   BENCH_MBIT     download rate in the throttled profile (default 10)
#   VIDGEN_BIN     the binary to measure (default build/vidgen)
#   CHROMIUM       the browser (default /usr/bin/chromium)
#
# Exit status: 0 when every visit rendered the login form, whether or not the budget is
# met; 1 when something failed to run.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VIDGEN_BIN=${VIDGEN_BIN:-$ROOT/build/vidgen}
ROUNDS=${BENCH_ROUNDS:-15}
RTT=${BENCH_RTT_MS:-50}
MBIT=${BENCH_MBIT:-10}
BUDGET_KB=60
BUDGET_MS=250

die() {
    echo "bench/web.sh: $*" >&2
    exit 1
}
for v in "$ROUNDS" "$RTT" "$MBIT"; do
    case $v in '' | *[!0-9]*) die "BENCH_ROUNDS, BENCH_RTT_MS and BENCH_MBIT take whole numbers, not '$v'" ;; esac
done

. "$ROOT/bench/lib.sh"
bench_require nginx:nginx-light curl:curl node:nodejs chromium:chromium
make --no-print-directory -C "$ROOT" build/vidgen node_modules/.package-lock.json >/dev/null

TMP=""
VG_PID=""
NGINX_PID=""
stop_servers() {
    bench_stop "$NGINX_PID" QUIT # graceful: finish the replies in flight, then exit
    bench_stop "$VG_PID" TERM    # vidgen's graceful stop
}
bench_traps

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vidgen-bench.XXXXXX")
mkdir "$TMP/data" "$TMP/nginx" "$TMP/www"

# --- vidgen ---------------------------------------------------------------------------
VG_PORT=$(free_port)
VG=http://127.0.0.1:$VG_PORT
(cd "$TMP" && exec env VIDGEN_ADDR="127.0.0.1:$VG_PORT" VIDGEN_DATA_DIR="$TMP/data" VIDGEN_ACCESS_LOG=off \
    "$VIDGEN_BIN" serve --no-worker) >"$TMP/vidgen.log" 2>&1 &
VG_PID=$!
wait_for "$VG/healthz" "$VG_PID" vidgen

# --- the same bytes, and the static page, for nginx -----------------------------------
cp -R "$ROOT/build/web/index.html" "$ROOT/build/web/index.html.gz" "$ROOT/build/web/assets" "$TMP/www/"
curl -fsS -o "$TMP/index.check" "$VG/" || die "GET / failed"
cmp -s "$TMP/index.check" "$TMP/www/index.html" || die "build/web is not the build in $VIDGEN_BIN: run make"
ASSETS=$(sed -n 's|.*href="\(/assets/[0-9a-f]*\)/app.css".*|\1|p' "$TMP/www/index.html")
[ -n "$ASSETS" ] || die "no stylesheet in build/web/index.html"
curl -fsS -o "$TMP/app.css.check" "$VG$ASSETS/app.css" || die "GET $ASSETS/app.css failed"
cmp -s "$TMP/app.css.check" "$TMP/www$ASSETS/app.css" || die "vidgen and build/web differ in app.css"
mkdir "$TMP/www/static"
cp "$TMP/www$ASSETS/app.css" "$TMP/www$ASSETS/favicon.svg" "$TMP/www/static/"
(cd "$TMP/www/static" && gzip -9 -n -k app.css)
# The login form as the app renders it (web/login.js), without a script.
cat >"$TMP/www/static/index.html" <<'HTML'
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>vidgen</title>
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="app.css">
</head>
<body>
<div id="app"><main class="login">
<h1 elementtiming="login"><span class="logo" aria-hidden="true"></span>vidgen</h1>
<p class="muted">Make videos from a prompt: ModelsLab, Eden AI, Runway, Kling, or the built-in preview renderer.</p>
<form aria-label="Log in" method="post" action="/auth/login">
<label for="login-name">User name</label>
<input id="login-name" name="name" autocomplete="username" required autofocus>
<label for="login-password">Password</label>
<input id="login-password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" class="primary">Log in</button>
</form>
<button type="button" class="link">Log in with an API token instead</button>
</main></div>
</body>
</html>
HTML

NGINX_PORT=$(free_port)
NG=http://127.0.0.1:$NGINX_PORT
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
cat >"$TMP/nginx.conf" <<EOF
# Written by bench/web.sh: nginx serving the web app's files and a static login page.
$USER_LINE
daemon off;
worker_processes auto;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    gzip_static on;
    etag on;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/www;
        location = / { add_header Cache-Control no-cache; try_files /index.html =404; }
        location /assets/ { add_header Cache-Control "public, max-age=31536000, immutable"; }
        location /static/ { add_header Cache-Control no-cache; }
    }
}
EOF
"$NGINX" -t -q -p "$TMP/nginx/" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" || die "nginx rejects its configuration"
"$NGINX" -p "$TMP/nginx/" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" &
NGINX_PID=$!
wait_for "$NG/static/" "$NGINX_PID" nginx
curl -fsS -o "$TMP/index.ng" "$NG/" && cmp -s "$TMP/index.ng" "$TMP/www/index.html" || die "nginx does not send index.html as it is"
curl -fsS --compressed -o "$TMP/css.ng" -H 'Accept-Encoding: gzip' "$NG$ASSETS/app.css" &&
    cmp -s "$TMP/css.ng" "$TMP/app.css.check" || die "nginx does not send app.css as vidgen does"

# --- measuring, in Chromium ------------------------------------------------------------
echo "bench/web.sh: $ROUNDS cold visits per target and profile (loopback; $RTT ms, $MBIT Mbit/s)"
WEB_TARGETS="vidgen=$VG/ nginx-same-bytes=$NG/ nginx-static-page=$NG/static/" WEB_ROUNDS=$ROUNDS \
    WEB_RTT_MS=$RTT WEB_MBIT=$MBIT node "$ROOT/bench/web.mjs" >"$TMP/results.jsonl" || die "the measurement failed"
tail -n 1 "$TMP/results.jsonl" >"$TMP/summary.json"

# --- the table and the budget -----------------------------------------------------------
node "$ROOT/bench/web_report.mjs" "$TMP/summary.json" "$BUDGET_KB" "$BUDGET_MS" "$RTT"
