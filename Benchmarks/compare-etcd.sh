#!/usr/bin/env bash
# Caravan's control-plane write path against etcd 3.4, on this machine, in one run.
#
# Both are 3 members on loopback with fsync on. etcd takes 256-byte puts from
# its own Go client (Benchmarks/etcd/putbench.go, built against Debian's
# golang-etcd-server-dev); Caravan takes ~250-byte job registrations
# (RegistrationThroughput). Each runs with 1 and 64 concurrent clients, then
# its leader is killed with SIGKILL and the time to the next acknowledged
# write is measured the same way on both. Each run also reports the CPU time
# per acknowledged write, of the three servers together and of the client:
# on a machine both share, that is what bounds the rate once the CPUs are busy.
# Last, each system's floor: 64 clients making the cheapest call it answers
# (etcd: a serializable get; Caravan: a status call), no Raft and no disk.
# No write through the same stack can beat that rate.
#
#   Benchmarks/compare-etcd.sh [WRITES=10000]
#
# Installs etcd-server, etcd-client, golang-go and golang-etcd-server-dev when missing.
set -euo pipefail
cd "$(dirname "$0")"
WRITES=${1:-10000}
export GO111MODULE=off GOPATH=/usr/share/gocode

missing=()
command -v etcd >/dev/null || missing+=(etcd-server)
command -v etcdctl >/dev/null || missing+=(etcd-client)
command -v go >/dev/null || missing+=(golang-go)
[ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ] || missing+=(golang-etcd-server-dev)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/compare-etcd.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

echo "== building"
go build -o "$work/putbench" etcd/putbench.go
swift build -c release --product caravand >/dev/null
swift build -c release --product RegistrationThroughput >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -a client_ports peer_ports
for i in 0 1 2; do client_ports[$i]=$(free_port); peer_ports[$i]=$(free_port); done
initial=""
for i in 0 1 2; do initial+="${initial:+,}e$i=http://127.0.0.1:${peer_ports[$i]}"; done
endpoints() { local out=""; for i in "$@"; do out+="${out:+,}127.0.0.1:${client_ports[$i]}"; done; echo "$out"; }

echo "== etcd $(etcd --version | head -1 | awk '{print $3}'): 3 members on loopback"
for i in 0 1 2; do
    etcd --name "e$i" --data-dir "$work/e$i" \
        --listen-client-urls "http://127.0.0.1:${client_ports[$i]}" --advertise-client-urls "http://127.0.0.1:${client_ports[$i]}" \
        --listen-peer-urls "http://127.0.0.1:${peer_ports[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${peer_ports[$i]}" \
        --initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token compare \
        --log-level error >"$work/e$i.log" 2>&1 &
    pids[$i]=$!
    disown "$!"  # its kill -9 below is expected: no "Killed" report from bash
done
for _ in $(seq 100); do
    ETCDCTL_API=3 etcdctl --endpoints "$(endpoints 0 1 2)" endpoint health >/dev/null 2>&1 && break
    sleep 0.1
done
results="$work/results"
server_pids=$(IFS=,; echo "${pids[*]}")
"$work/putbench" -endpoints "$(endpoints 0 1 2)" -clients 1 -total "$WRITES" -server-pids "$server_pids" | tee -a "$results"
"$work/putbench" -endpoints "$(endpoints 0 1 2)" -clients 64 -total "$WRITES" -server-pids "$server_pids" | tee -a "$results"
"$work/putbench" -endpoints "$(endpoints 0 1 2)" -clients 64 -total "$WRITES" -server-pids "$server_pids" -floor | tee -a "$results"
leader=""
for i in 0 1 2; do
    if ETCDCTL_API=3 etcdctl --endpoints "$(endpoints $i)" endpoint status -w json | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["Status"]; sys.exit(0 if s["header"]["member_id"]==s["leader"] else 1)'; then leader=$i; fi
done
if [ -z "$leader" ]; then
    # Killing a follower would measure nothing (a run once printed "4 ms").
    echo "etcd failover: no member reported itself leader; not measured. etcdctl said:"
    ETCDCTL_API=3 etcdctl --endpoints "$(endpoints 0 1 2)" endpoint status -w json || true
else
    survivors=(); for i in 0 1 2; do [ "$i" = "$leader" ] || survivors+=("$i"); done
    "$work/putbench" -endpoints "$(endpoints "${survivors[@]}")" -failover-kill "${pids[$leader]}" 2>>"$work/putbench.log" | tee -a "$results"
fi
for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done

echo "== caravan: 3 servers on loopback"
.build/release/RegistrationThroughput "$PWD/.build/release/caravand" "$WRITES" 1,64 | tee -a "$results"

echo "== ratios (caravan / etcd)"
python3 - "$results" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    fields = dict(re.findall(r'(\S+)=(\S+)', line))
    system = line.split()[0]
    key = (system, 'floor' if line.split()[1:2] == ['floor'] else fields.get('clients', 'failover'))
    rows[key] = {k: float(v) for k, v in fields.items() if re.match(r'^[0-9.]+$', v)}
for clients in ('1', '64'):
    e, c = rows.get(('etcd', clients)), rows.get(('caravan', clients))
    if not e or not c: continue
    print(f"clients={clients}: writes/s {c['puts/s']:.0f} vs {e['puts/s']:.0f} = {c['puts/s']/e['puts/s']:.2f}x; "
          f"p50 {c['p50_ms']:.2f} vs {e['p50_ms']:.2f} ms; p99 {c['p99_ms']:.2f} vs {e['p99_ms']:.2f} ms")
    # Both share this machine's CPUs: CPU time per acknowledged write bounds the rate once they are busy.
    if 'server_cpu_us' in c and 'server_cpu_us' in e:
        print(f"  CPU per write: servers {c['server_cpu_us']:.0f} vs {e['server_cpu_us']:.0f} us "
              f"= {c['server_cpu_us']/max(e['server_cpu_us'], 1):.2f}x; "
              f"client {c['client_cpu_us']:.0f} vs {e['client_cpu_us']:.0f} us")
e, c = rows.get(('etcd', 'floor')), rows.get(('caravan', 'floor'))
if e and c:
    # The cheapest call each answers (no Raft, no disk), 64 clients: a ceiling for any write through the same stack.
    print(f"floor (no-op call, 64 clients): calls/s {c['calls/s']:.0f} vs {e['calls/s']:.0f} = {c['calls/s']/e['calls/s']:.2f}x; "
          f"CPU per call: servers {c['server_cpu_us']:.0f} vs {e['server_cpu_us']:.0f} us, client {c['client_cpu_us']:.0f} vs {e['client_cpu_us']:.0f} us")
    p = rows.get(('etcd', '64'))
    if p:
        print(f"  Caravan's no-op ceiling is {c['calls/s']/p['puts/s']:.2f}x etcd's puts/s at 64 clients")
e, c = rows.get(('etcd', 'failover')), rows.get(('caravan', 'failover'))
if e and c:
    print(f"failover after kill -9: {c['failover_ms']:.0f} ms vs {e['failover_ms']:.0f} ms")
PY
