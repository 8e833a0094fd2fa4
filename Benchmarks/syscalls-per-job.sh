#!/usr/bin/env bash
# System calls per job of the two clients in a wasm flood (ClusterThroughput),
# counted by strace -c over the whole run: unlike CPU time, a count that does
# not drift with the machine, for changes to what a client does per task.
# Futexes, epoll waits and restarts are left out of the total (they count
# waiting, not work). strace slows the clients several times over: read the
# counts, not the rate.
#
#   cd Benchmarks && swift build -c release --product ClusterThroughput
#   Benchmarks/syscalls-per-job.sh ../.build/release/caravand [JOBS=3000]
set -euo pipefail
caravand=$(realpath "$1")
jobs=${2:-3000}
command -v strace >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null; }
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
TMPDIR=/dev/shm/ .build/release/ClusterThroughput "$caravand" "$jobs" 32 wasm >"$work/flood" 2>&1 &
flood=$!
clients=()
for _ in $(seq 1 300); do
    mapfile -t clients < <(pgrep -f "^$caravand client" || true)
    [ ${#clients[@]} -ge 2 ] && break
    sleep 0.1
done
[ ${#clients[@]} -ge 2 ] || { echo "the clients did not start" >&2; kill $flood; exit 1; }
for p in "${clients[@]}"; do strace -c -f -p "$p" -o "$work/strace.$p" 2>/dev/null & done
wait $flood || { cat "$work/flood" >&2; exit 1; }
wait
grep -E "completed:" "$work/flood"
python3 - "$jobs" "$work"/strace.* <<'PY'
import collections, sys
jobs = int(sys.argv[1]); calls = collections.Counter()
for path in sys.argv[2:]:
    for line in open(path):
        f = line.split()
        # "% time seconds usecs/call calls [errors] syscall"
        if len(f) >= 5 and f[-1].isidentifier() and f[-1] != "total" and f[3].isdigit():
            calls[f[-1]] += int(f[3])
waiting = {"futex", "epoll_wait", "restart_syscall"}
work = {k: v for k, v in calls.items() if k not in waiting}
print(f"system calls per job, beside waiting: {sum(work.values()) / jobs:.1f}")
print("  " + "  ".join(f"{k} {v / jobs:.1f}" for k, v in sorted(work.items(), key=lambda kv: -kv[1]) if v / jobs >= 0.5))
PY
