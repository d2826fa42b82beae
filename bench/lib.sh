# Shared by the shell benchmarks (sourced): tools, the vidgen binary, ports, waiting for a
# server to answer, stopping children.
# Expects ROOT, VIDGEN_BIN and a die() function from the script that sources it.

# bench_require "cmd:package ..." — installs the Debian packages of missing commands (as
# root), or stops with the apt-get line to run. Sets NGINX to nginx's path.
bench_require() {
    missing=""
    for pair in "$@"; do
        cmd=${pair%%:*}
        if [ "$cmd" = nginx ]; then
            [ -x "$(command -v nginx || echo /usr/sbin/nginx)" ] || missing="$missing ${pair#*:}"
        else
            command -v "$cmd" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
        fi
    done
    if [ -n "$missing" ]; then
        [ "$(id -u)" = 0 ] || die "missing Debian packages:$missing (make bench-deps, or sudo apt-get install$missing)"
        echo "installing Debian packages:$missing"
        apt-get update -qq
        # shellcheck disable=SC2086 # one word per package
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    if [ ! -x "$VIDGEN_BIN" ]; then
        echo "building $VIDGEN_BIN"
        make --no-print-directory -C "$ROOT" build/vidgen >/dev/null
    fi
}

# bench_stop PID SIG — sends SIG to PID (a child of this shell) and waits for it to end, for
# at most 15 s, after which it is killed. A child that has ended stays a zombie until
# waited for, so "still running" means: /proc/PID exists and its state is not Z.
bench_stop() {
    pid=$1
    [ -n "$pid" ] || return 0
    kill "-$2" "$pid" 2>/dev/null || true
    i=0
    while [ -r "/proc/$pid/stat" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ] && [ $i -lt 150 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# A loopback TCP port nobody listens on. Call it after starting the servers that already
# took theirs, so two calls never hand out the same port.
free_port() {
    if command -v python3 >/dev/null 2>&1 &&
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null; then
        return 0
    fi
    while :; do
        p=$(($(od -An -N2 -tu2 /dev/urandom) % 30000 + 20000))
        [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return 0; }
    done
}

# Waits until URL answers 2xx, while PID lives, for at most 10 s.
wait_for() {
    i=0
    until curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; do
        kill -0 "$2" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$2/stat" 2>/dev/null)" != Z ] || die "$3 exited at start"
        [ $i -lt 100 ] || die "$3 did not answer $1 within 10 s"
        sleep 0.1
        i=$((i + 1))
    done
}

# The end of a benchmark, on any exit: stops its servers (the script's own stop_servers), shows
# the last lines of each log in $TMP when the script failed, and removes $TMP. bench_traps
# installs it, and turns HUP, INT, PIPE (piped into head) and TERM into exits that run it.
bench_cleanup() {
    rc=$?
    trap - EXIT HUP INT PIPE TERM
    stop_servers
    if [ -n "$TMP" ] && [ "$rc" != 0 ]; then
        for f in "$TMP"/*.log; do
            [ -s "$f" ] && { echo "--- last lines of $(basename "$f"):"; tail -n 20 "$f"; } >&2
        done
    fi
    [ -n "$TMP" ] && rm -rf "$TMP"
    exit "$rc"
}

bench_traps() {
    trap bench_cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 141' PIPE
    trap 'exit 143' TERM
}
