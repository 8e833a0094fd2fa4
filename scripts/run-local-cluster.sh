#!/usr/bin/env bash
# `make run`: a local cluster on 127.0.0.1 — three servers and two clients —
# running the example jobs in Examples/run (exec, docker, wasm, and a job
# placed by its data), printing each job's result, then stopping.
#
#   KEEP=1 make run     leave the cluster running afterwards (stop it with Ctrl-C)
#   CARAVAN_BIN=DIR     take caravand and caravan from DIR (default .build/debug)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="${CARAVAN_BIN:-$repo/.build/debug}"
work="$(mktemp -d /tmp/caravan-run.XXXXXX)"
pids=()

cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${started_docker:-}" ] && "$repo/scripts/dockerd-test.sh" stop >/dev/null 2>&1 || true
    echo "logs and data were in $work"
}
trap cleanup EXIT

# A private Docker engine (the docker example is skipped without one).
docker_socket=""
if "$repo/scripts/dockerd-test.sh" status >/dev/null 2>&1 || { started_docker=1; "$repo/scripts/dockerd-test.sh" start >/dev/null 2>&1; }; then
    docker_socket="$("$repo/scripts/dockerd-test.sh" socket)"
else
    echo "run: dockerd did not start; the docker example is skipped"
fi

base=$((20000 + RANDOM % 20000))
peers="s1=127.0.0.1:$base,s2=127.0.0.1:$((base + 1)),s3=127.0.0.1:$((base + 2))"
for i in 1 2 3; do
    "$bin/caravand" server --name "s$i" --grpc-port $((base + i - 1)) --http-port $((base + 10 + i)) \
        --peers "$peers" --data-dir "$work/s$i" --heartbeat-ttl-ms 3000 >"$work/s$i.log" 2>&1 &
    pids+=($!)
done
servers="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
docker_flag=()
[ -n "$docker_socket" ] && docker_flag=(--docker-socket "$docker_socket")
"$bin/caravand" client --node-name c1 --servers "$servers" --client-data-dir "$work/c1" \
    --dataset "books=$repo/Examples/run/books" "${docker_flag[@]}" >"$work/c1.log" 2>&1 &
pids+=($!)
"$bin/caravand" client --node-name c2 --servers "$servers" --client-data-dir "$work/c2" \
    "${docker_flag[@]}" >"$work/c2.log" 2>&1 &
pids+=($!)

export CARAVAN_ADDR="127.0.0.1:$base"
caravan() { "$bin/caravan" "$@"; }

echo "==> waiting for a leader and two ready nodes"
for _ in $(seq 1 200); do
    ready=$(caravan node status --json 2>/dev/null | grep -o '"status" *: *"ready"' | wc -l || true)
    [ "$ready" -ge 2 ] && break
    sleep 0.1
done
caravan server members
caravan node status

jobs=("$repo/Examples/run/hello-exec.yaml" "$repo/Examples/run/word-count.yaml")
if command -v wat2wasm >/dev/null 2>&1; then
    wat2wasm "$repo/Examples/run/hello.wat" -o "$work/hello.wasm"
    sed "s|MODULE|$work/hello.wasm|" "$repo/Examples/run/hello-wasm.yaml" >"$work/hello-wasm.yaml"
    jobs+=("$work/hello-wasm.yaml")
else
    echo "run: wat2wasm (Debian's wabt) is missing; the wasm example is skipped"
fi
[ -n "$docker_socket" ] && jobs+=("$repo/Examples/run/hello-docker.yaml")

status=0
for job in "${jobs[@]}"; do
    id=$(sed -n 's/^id: *//p' "$job")
    echo
    echo "==> caravan job run $(basename "$job")"
    caravan job run "$job" || status=1
    echo "--> output of $id"
    for alloc in $(caravan job status "$id" --json 2>/dev/null | grep -o '"id" *: *"[0-9a-f-]\{36\}"' | grep -o "[0-9a-f-]\{36\}" | sort -u || true); do
        caravan alloc logs "$alloc" 2>/dev/null || true
    done
done

if [ -n "${KEEP:-}" ]; then
    echo
    echo "==> the cluster runs on; CARAVAN_ADDR=$CARAVAN_ADDR caravan job status. Ctrl-C stops it."
    wait
fi
exit $status
