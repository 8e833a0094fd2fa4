#!/usr/bin/env bash
# A private Docker engine for the Executor's Docker driver tests.
#
#   scripts/dockerd-test.sh start    start dockerd (if not running) and build the test image
#   scripts/dockerd-test.sh stop     stop the dockerd this script started (containers go with it)
#   scripts/dockerd-test.sh status   exit 0 when the engine answers
#   scripts/dockerd-test.sh socket   print the socket path (for CARAVAN_TEST_DOCKER_SOCKET)
#   scripts/dockerd-test.sh purge    stop, then delete the data root
#
# The engine has its own socket, data root, exec root and pid file under
# $CARAVAN_DOCKERD_DIR (default /tmp/caravan-dockerd): it never touches a system
# dockerd. No registry is reachable here, so the test image caravan-test/busybox:1
# is built with `docker import` from Debian's busybox-static. Every command is
# idempotent. Needs docker.io and busybox-static (scripts/install-system-packages.sh).
set -euo pipefail

dir="${CARAVAN_DOCKERD_DIR:-/tmp/caravan-dockerd}"
sock="$dir/docker.sock"
pidfile="$dir/dockerd.pid"
log="$dir/dockerd.log"
image="caravan-test/busybox:1"

docker_() { docker -H "unix://$sock" "$@"; }

running() {
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && docker_ version >/dev/null 2>&1
}

build_image() {
    docker_ image inspect "$image" >/dev/null 2>&1 && return 0
    local root
    root="$(mktemp -d "$dir/rootfs.XXXXXX")"
    mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
    cp /bin/busybox "$root/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
    done
    echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
    echo 'root:x:0:' >"$root/etc/group"
    tar -C "$root" -c . | docker_ import -c 'CMD ["/bin/sh"]' - "$image" >/dev/null
    rm -rf "$root"
    echo "dockerd-test: built $image"
}

start() {
    mkdir -p "$dir"
    if ! running; then
        command -v dockerd >/dev/null || { echo "dockerd-test: dockerd is not installed (apt-get install docker.io)" >&2; exit 1; }
        [ -x /bin/busybox ] || { echo "dockerd-test: /bin/busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
        rm -f "$sock" "$pidfile"
        # setsid: the engine outlives this script and the shell that ran it.
        setsid dockerd \
            --host "unix://$sock" \
            --data-root "$dir/data" \
            --exec-root "$dir/exec" \
            --pidfile "$pidfile" \
            --iptables=false --ip-masq=false --bridge=none \
            >"$log" 2>&1 </dev/null &
        local pid=$!
        for _ in $(seq 1 300); do
            docker_ version >/dev/null 2>&1 && break
            if ! kill -0 "$pid" 2>/dev/null; then
                echo "dockerd-test: dockerd exited while starting; the end of $log:" >&2
                tail -n 20 "$log" >&2
                exit 1
            fi
            sleep 0.1
        done
        if ! docker_ version >/dev/null 2>&1; then
            echo "dockerd-test: dockerd did not answer on $sock within 30 s; the end of $log:" >&2
            tail -n 20 "$log" >&2
            kill "$pid" 2>/dev/null || true
            exit 1
        fi
        echo "dockerd-test: dockerd $(docker_ version -f '{{.Server.Version}}') on $sock (pid $pid)"
    fi
    build_image
}

stop() {
    [ -f "$pidfile" ] || return 0
    local pid
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        # Containers of the tests first, so that dockerd's shutdown is quick.
        docker_ ps -aq --filter label=caravan.test 2>/dev/null | xargs -r docker -H "unix://$sock" rm -f >/dev/null 2>&1 || true
        kill "$pid"
        for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "dockerd-test: dockerd (pid $pid) did not stop in 20 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        echo "dockerd-test: stopped dockerd (pid $pid)"
    fi
    rm -f "$pidfile" "$sock"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) running ;;
    socket) echo "$sock" ;;
    purge) stop; rm -rf "$dir" ;;
    *) echo "usage: $0 start|stop|status|socket|purge" >&2; exit 2 ;;
esac
