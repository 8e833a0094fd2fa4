#!/usr/bin/env bash
# Two or more caravand builds against each other in the 10,000-job wasm flood
# (ClusterThroughput), run alternately, so that each pair of runs meets the
# same machine: on a VM whose speed drifts by ±15% within minutes, only runs
# made back to back compare. Prints each run, then per build the median
# jobs/s and the median CPU per job (servers + clients).
#
#   cd Benchmarks && swift build -c release --product ClusterThroughput
#   cp ../.build/release/caravand /tmp/caravand.before   # ...build the change...
#   Benchmarks/compare-builds.sh [-n ROUNDS=3] [-j JOBS=10000] /tmp/caravand.before ../.build/release/caravand
set -euo pipefail
rounds=3 jobs=10000
while getopts "n:j:" opt; do
    case $opt in
        n) rounds=$OPTARG ;;
        j) jobs=$OPTARG ;;
        *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "usage: $0 [-n ROUNDS] [-j JOBS] CARAVAND CARAVAND..." >&2; exit 2; }
builds=()
for b in "$@"; do builds+=("$(realpath "$b")"); done
cd "$(dirname "$0")"
bench=.build/release/ClusterThroughput
[ -x "$bench" ] || { echo "build it first: cd Benchmarks && swift build -c release --product ClusterThroughput" >&2; exit 1; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq 1 "$rounds"); do
    for b in "${builds[@]}"; do
        out=$(TMPDIR=/dev/shm/ "$bench" "$b" "$jobs" 32 wasm 2>&1) || { echo "$out" >&2; exit 1; }
        rate=$(grep -oP 'completed:\s+\K[0-9]+' <<<"$out")
        cpu=$(grep -oP 'CPU per job:\s+servers \K[0-9.]+ ms, clients [0-9.]+' <<<"$out" | sed 's/ ms, clients / /')
        echo "round $round  $b  $rate jobs/s  CPU per job servers+clients ${cpu/ /+} ms"
        echo "$b $rate $cpu" >>"$results"
    done
done
python3 - "$results" <<'PY'
import collections, statistics, sys
rates, cpus = collections.defaultdict(list), collections.defaultdict(list)
for line in open(sys.argv[1]):
    build, rate, servers, clients = line.split()
    rates[build].append(int(rate))
    cpus[build].append(float(servers) + float(clients))
for build in rates:
    print(f"{build}: median {statistics.median(rates[build])} jobs/s {rates[build]}, "
          f"median CPU per job {statistics.median(cpus[build]):.2f} ms")
PY
