# Shared by the shell benchmarks (sourced): tools, the vidgen binary, stopping children.
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
