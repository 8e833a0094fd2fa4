#!/usr/bin/env bash
# Installs the Debian packages Caravan needs to build and test, when missing.
# One list, used by `make run`, `make test` and .ci/run alike.
set -euo pipefail

packages=(
    pkg-config
    librocksdb-dev   # Storage: the durable Raft log and node-local KV
    docker.io        # Executor tests: a private Docker engine (scripts/dockerd-test.sh)
    busybox-static   # Executor tests: the rootfs of the caravan-test/busybox:1 image
    wabt             # make run: wat2wasm compiles the WASM example
)

# Python packages for the foreign-client test (Tests/AgentTests/Python).
if ! python3 -c 'import grpc, grpc_tools' >/dev/null 2>&1; then
    echo "installing Python packages: grpcio grpcio-tools"
    python3 -m pip install --quiet grpcio grpcio-tools
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing system packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
