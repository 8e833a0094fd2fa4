// The control plane's write path on a loopback cluster: 3 `caravand server`s
// with RocksDB data directories (every append fsynced), no clients. C
// concurrent callers, spread over the three servers as etcd's client spreads
// over its endpoints, register N batch jobs (a ~250-byte spec each); each
// registration is acknowledged only once committed and applied. Then the
// leader is killed with SIGKILL and the time until a registration succeeds
// again through a surviving server is the failover time.
//
//   cd Benchmarks && swift build -c release --product RegistrationThroughput --product caravand
//   .build/release/RegistrationThroughput CARAVAND_PATH [REGISTRATIONS=10000] [CALLERS=1,64]
//
// It prints one line per caller count, one for the floor (the most callers
// making status calls: no Raft, no disk, the fastest any call can go) and one
// for failover, in the form Benchmarks/compare-etcd.sh reads. Each caller-count
// line gives the CPU time per acknowledged registration: the three servers'
// together (`server_cpu_us`) and this process's (`client_cpu_us`).
import API
import BenchmarkSupport
import Foundation
import GRPCCore
import Transport

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: RegistrationThroughput CARAVAND_PATH [REGISTRATIONS=10000] [CALLERS=1,64]")
    exit(2)
}
let registrations = arguments.count > 2 ? Int(arguments[2]) ?? 10_000 : 10_000
let callerCounts = (arguments.count > 3 ? arguments[3] : "1,64").split(separator: ",").compactMap { Int($0) }

/// SERVERS=1 runs a single server (no replication, no failover): what one fsync and the apply path cost alone.
let serverCount = ProcessInfo.processInfo.environment["SERVERS"].flatMap(Int.init) ?? 3
let all = Array(0..<serverCount)
let cluster = try LocalCluster(caravand: arguments[1], servers: serverCount)
for i in all { try cluster.startServer(i) }
let connections = try cluster.serverPorts.map { try ClusterConnection(address: PeerAddress(host: "127.0.0.1", port: $0)) }

/// The index of the server that leads, once one does.
func leaderIndex(among candidates: [Int]) async -> Int? {
    for _ in 0..<400 {
        for i in candidates {
            if let status = try? await connections[i].cluster.status(Caravan_Api_V1_GetStatusRequest()), status.role == "leader" {
                return i
            }
        }
        try? await Task.sleep(for: .milliseconds(25))
    }
    return nil
}
guard await leaderIndex(among: all) != nil else {
    print("the cluster did not elect a leader; logs in \(cluster.directory)")
    cluster.stop(keepLogs: true)
    exit(1)
}

// Warm up connections and the leader's caches.
for i in 0..<30 { _ = try await connections[i % serverCount].jobs.register(registerTrueJob("warm-\(i)")) }

// Where a registration's time could go, measured against the leader first:
// a gRPC round trip (a status call, answered locally), and a linearizable
// read (a ReadIndex: one heartbeat round to the followers, no fsync).
guard let probeLeader = await leaderIndex(among: all) else { fatalError("no leader") }
func probe(_ name: String, _ call: () async throws -> Void) async rethrows {
    var samples: [Double] = []
    for _ in 0..<500 {
        let sent = ContinuousClock.now
        try await call()
        samples.append((ContinuousClock.now - sent).inMilliseconds)
    }
    let l = Latencies(samples)
    print("caravan probe=\(name) p50_ms=\(format(l.percentile(0.5), 3)) p99_ms=\(format(l.percentile(0.99), 3))")
}
try await probe("rpc") { _ = try await connections[probeLeader].cluster.status(Caravan_Api_V1_GetStatusRequest()) }
try await probe("read-index") {
    var get = Caravan_Api_V1_GetJobRequest()
    get.jobID = "warm-0"
    _ = try await connections[probeLeader].jobs.get(get)
}
try await probe("register-at-leader") { _ = try await connections[probeLeader].jobs.register(registerTrueJob("probe-\(UUID().uuidString)")) }

/// CPU seconds used so far by the servers together.
@MainActor func serversCPUSeconds() -> Double { all.compactMap { cluster.cpuSeconds("s\($0 + 1)")?.own }.reduce(0, +) }

/// `count` calls of `call` from `callers` concurrent callers, spread over the
/// servers as etcd's client spreads over its endpoints: their latencies,
/// wall time, and the CPU time per call of the servers and of this process.
func flood(callers: Int, count: Int, _ call: @escaping @Sendable (ClusterConnection, Int) async throws -> Void)
    async throws -> (latencies: Latencies, seconds: Double, serverCPUMicros: Double, callerCPUMicros: Double) {
    let (serversBefore, ownBefore) = (await serversCPUSeconds(), processCPUSeconds(RUSAGE_SELF))
    let start = ContinuousClock.now
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for caller in 0..<callers {
            group.addTask {
                let connection = connections[caller % connections.count]
                var mine: [Double] = []
                var n = caller
                while n < count {
                    let sent = ContinuousClock.now
                    try await call(connection, n)
                    mine.append((ContinuousClock.now - sent).inMilliseconds)
                    n += callers
                }
                return mine
            }
        }
        var all: [Double] = []
        for try await mine in group { all += mine }
        return all
    }
    let elapsed = (ContinuousClock.now - start).inSeconds
    // CPU per call, in microseconds: on a machine the servers and callers
    // share, what bounds the rate once the CPUs are busy.
    let serverCPU = (await serversCPUSeconds() - serversBefore) / Double(count) * 1e6
    let callerCPU = (processCPUSeconds(RUSAGE_SELF) - ownBefore) / Double(count) * 1e6
    return (Latencies(latencies), elapsed, serverCPU, callerCPU)
}

for callers in callerCounts {
    let run = try await flood(callers: callers, count: registrations) { connection, n in
        _ = try await connection.jobs.register(registerTrueJob("c\(callers)-\(n)"))
    }
    let l = run.latencies
    print("caravan clients=\(callers) puts=\(registrations) seconds=\(format(run.seconds, 2)) puts/s=\(format(Double(registrations) / run.seconds, 0)) p50_ms=\(format(l.percentile(0.5), 2)) p99_ms=\(format(l.percentile(0.99), 2)) server_cpu_us=\(format(run.serverCPUMicros, 0)) client_cpu_us=\(format(run.callerCPUMicros, 0))")
}

// The transport's ceiling: the same callers, each call the cheapest this API
// has (a status call, answered by the server it reaches without Raft or
// disk). No write through the same gRPC stack can go faster than this.
if let callers = callerCounts.max() {
    let run = try await flood(callers: callers, count: registrations) { connection, _ in
        _ = try await connection.cluster.status(Caravan_Api_V1_GetStatusRequest())
    }
    print("caravan floor clients=\(callers) calls=\(registrations) calls/s=\(format(Double(registrations) / run.seconds, 0)) p50_ms=\(format(run.latencies.percentile(0.5), 2)) server_cpu_us=\(format(run.serverCPUMicros, 0)) client_cpu_us=\(format(run.callerCPUMicros, 0))")
}

// Failover: kill -9 the leader, then register through the survivors until one succeeds.
guard serverCount > 1 else {
    cluster.stop()
    exit(0)
}
guard let leader = await leaderIndex(among: all) else { fatalError("no leader before failover") }
let survivors = all.filter { $0 != leader }
cluster.kill9("s\(leader + 1)")
let killed = ContinuousClock.now
var attempt = 0
var recovered: Duration?
while recovered == nil, ContinuousClock.now - killed < .seconds(30) {
    let connection = connections[survivors[attempt % survivors.count]]
    attempt += 1
    var options = CallOptions.defaults
    options.timeout = .milliseconds(250)
    if (try? await connection.jobs.register(registerTrueJob("failover-\(attempt)"), options: options)) != nil {
        recovered = ContinuousClock.now - killed
    }
}
if let recovered {
    print("caravan failover_ms=\(format(recovered.inMilliseconds, 0)) (SIGKILL of the leader to the next acknowledged registration)")
} else {
    print("caravan failover: no registration succeeded within 30 s; logs in \(cluster.directory)")
}
cluster.stop(keepLogs: recovered == nil)
