// End to end on a loopback cluster: 3 `caravand server`s and 2 `caravand
// client`s on 127.0.0.1; N batch jobs running /bin/true are submitted by C
// concurrent submitters. Reports jobs completed per second, and the time
// from each job's submission to its allocation running (the first status
// the client reports: a task as short as /bin/true may be reported complete
// without a running status in between; both count).
//
// First, 100 jobs one at a time (each submitted when the last has run):
// the latency of a job that waits for no other.
//
// Baseline, measured in the same run: how fast this machine starts /bin/true
// one process after another with posix_spawn (the least work a job costs a
// client), and the CPU time each such child takes.
//
// CPU time per completed job is split into the servers', the clients' own
// and their tasks': on a machine they all share, it is what bounds the rate
// (two CPUs at 1,000 jobs/s leave 2 ms per job for all of it).
//
// DRIVER is exec (the default: /bin/true) or wasm (a WASI module whose
// _start returns at once, run in the client's process: no process per job).
//
//   cd Benchmarks && swift build -c release --product ClusterThroughput
// RATE, when given, submits open loop: a job every 1/RATE s whether or not
// earlier calls returned (at most SUBMITTERS in flight), each job's latency
// counted from when it was due. Without it, SUBMITTERS submit closed loop,
// each its next job when its last returned: the cluster saturates, and the
// latency is mostly queue (Little's law: SUBMITTERS / jobs per second).
//
//   .build/release/ClusterThroughput CARAVAND_PATH [JOBS] [SUBMITTERS] [DRIVER] [RATE]
import API
import BenchmarkSupport
import Foundation
import Model
import Synchronization
import Transport

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: ClusterThroughput CARAVAND_PATH [JOBS=10000] [SUBMITTERS=32] [DRIVER=exec|wasm] [RATE]")
    exit(2)
}
let caravand = arguments[1]
let jobCount = arguments.count > 2 ? Int(arguments[2]) ?? 10_000 : 10_000
let submitters = arguments.count > 3 ? Int(arguments[3]) ?? 32 : 32
let driver = arguments.count > 4 ? arguments[4] : "exec"
guard driver == "exec" || driver == "wasm" else {
    print("DRIVER must be exec or wasm, not \(driver)")
    exit(2)
}
/// Jobs per second to submit at, open loop; nil: closed loop, as fast as they return.
let submitRate: Double? = arguments.count > 5 ? Double(arguments[5]) : nil
if let submitRate, !(submitRate > 0) {
    print("RATE must be a positive number of jobs per second")
    exit(2)
}

// Baseline: sequential /bin/true with posix_spawn and waitpid (Foundation's
// Process is far slower here, and no fair measure of what a process costs).
let baselineRuns = 500
let baselineChildrenBefore = processCPUSeconds(RUSAGE_CHILDREN)
let baselineStart = ContinuousClock.now
for _ in 0..<baselineRuns {
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
    defer { free(argv[0]) }
    guard posix_spawn(&pid, "/bin/true", nil, nil, argv, environ) == 0 else { fatalError("posix_spawn failed") }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
}
let baselineRate = Double(baselineRuns) / (ContinuousClock.now - baselineStart).inSeconds
let baselineTaskCPU = (processCPUSeconds(RUSAGE_CHILDREN) - baselineChildrenBefore) / Double(baselineRuns)

let cluster = try LocalCluster(caravand: caravand, servers: 3)
for i in 0..<3 { try cluster.startServer(i) }
for name in ["c1", "c2"] { try cluster.startClient(name) }
defer { cluster.stop() }

let trueTask = driver == "wasm" ? try TrueTask.wasm(in: cluster.directory) : .exec
let connections = try cluster.serverPorts.map { try ClusterConnection(address: PeerAddress(host: "127.0.0.1", port: $0)) }
var ready = false
for _ in 0..<600 where !ready {
    var request = Caravan_Api_V1_ListNodesRequest()
    request.status = "ready"
    request.options.allowStale = true
    if let nodes = try? await connections[0].nodes.list(request), nodes.nodes.count == 2 {
        ready = true
    } else {
        try await Task.sleep(for: .milliseconds(50))
    }
}
guard ready else {
    print("the cluster did not come up; logs in \(cluster.directory)")
    cluster.stop(keepLogs: true)
    exit(1)
}

/// Submission and first-status times by job ID.
final class Timeline: Sendable {
    struct State {
        var submitted: [String: ContinuousClock.Instant] = [:]
        /// When the register call returned (committed and applied).
        var registered: [String: ContinuousClock.Instant] = [:]
        var running: [String: ContinuousClock.Instant] = [:]
        /// When the event stream first showed the job's allocation (placed).
        var placed: [String: ContinuousClock.Instant] = [:]
        /// Completed jobs of the main run ("bench-" ids).
        var completed: Set<String> = []
        var lastCompletion: ContinuousClock.Instant?
        /// Who waits for a job to run (the one-at-a-time phase).
        var waiting: [String: CheckedContinuation<Void, Never>] = [:]
    }
    let state = Mutex(State())

    /// Returns once job `id` has run (at once if it has).
    func waitUntilRunning(_ id: String) async {
        await withCheckedContinuation { continuation in
            let ran = state.withLock { s in
                if s.running[id] != nil { return true }
                s.waiting[id] = continuation
                return false
            }
            if ran { continuation.resume() }
        }
    }

    /// Ends a wait for job `id` that has not run (a timeout).
    func stopWaiting(for id: String) {
        state.withLock { $0.waiting.removeValue(forKey: id) }?.resume()
    }
}
let timeline = Timeline()

/// The two fields of an allocation event this benchmark reads. Decoding the
/// whole `Allocation` made the benchmark itself about a tenth of the
/// machine's CPU in a 10,000-job run, taken from the cluster it measures.
struct AllocationSeen: Decodable {
    var jobID: String
    var clientStatus: ClientStatus
}

// Watch allocation events from now on.
let status = try await connections[0].cluster.status(Caravan_Api_V1_GetStatusRequest())
let watcher = Task {
    var request = Caravan_Api_V1_SubscribeRequest()
    request.fromIndex = status.appliedIndex
    var filter = Caravan_Api_V1_EventFilter()
    filter.topic = "Allocation"
    request.filters = [filter]
    request.namespace = "*"
    request.packed = true
    try await connections[0].events.subscribe(request) { response in
        for try await batch in response.messages {
            let now = ContinuousClock.now
            for event in batch.events {
                guard let a = try? event.payload(as: AllocationSeen.self) else { continue }
                timeline.state.withLock { s in if s.placed[a.jobID] == nil { s.placed[a.jobID] = now } }
                guard a.clientStatus == .running || a.clientStatus == .complete else { continue }
                let (done, waiter) = timeline.state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
                    if s.running[a.jobID] == nil { s.running[a.jobID] = now }
                    if a.clientStatus == .complete, a.jobID.hasPrefix("bench-"), s.completed.insert(a.jobID).inserted {
                        s.lastCompletion = now
                    }
                    return (s.completed.count >= jobCount, s.waiting.removeValue(forKey: a.jobID))
                }
                waiter?.resume()
                if done { return }
            }
        }
    }
}

// One job at a time first: the latency of a job that waits for no other.
let unloadedJobs = 100
var unloaded: [Double] = []
var unloadedPlacing: [Double] = []
for n in 0..<unloadedJobs {
    let id = "solo-\(n)"
    let submitted = ContinuousClock.now
    _ = try await connections[n % connections.count].jobs.register(registerTrueJob(id, task: trueTask))
    let timeout = Task { try await Task.sleep(for: .seconds(10)); timeline.stopWaiting(for: id) }
    await timeline.waitUntilRunning(id)
    timeout.cancel()
    guard let at = timeline.state.withLock({ $0.running[id] }) else {
        print("job \(id) did not run within 10 s; logs in \(cluster.directory)")
        cluster.stop(keepLogs: true)
        exit(1)
    }
    unloaded.append((at - submitted).inMilliseconds)
    if let placed = timeline.state.withLock({ $0.placed[id] }) { unloadedPlacing.append((placed - submitted).inMilliseconds) }
}
let unloadedLatencies = Latencies(unloaded)
let unloadedPlacings = Latencies(unloadedPlacing)

/// CPU seconds so far: the servers', the clients' own, and their tasks'.
@MainActor func cpuByPart() -> (servers: Double, clients: Double, tasks: Double) {
    let servers = ["s1", "s2", "s3"].compactMap { cluster.cpuSeconds($0)?.own }.reduce(0, +)
    let clients = ["c1", "c2"].compactMap { cluster.cpuSeconds($0) }
    return (servers, clients.map(\.own).reduce(0, +), clients.map(\.children).reduce(0, +))
}
let cpuBefore = cpuByPart()
let ownCPUBefore = processCPUSeconds(RUSAGE_SELF)
let indexBefore = try await connections[0].cluster.status(Caravan_Api_V1_GetStatusRequest()).appliedIndex
let start = ContinuousClock.now
/// Registers job `n` through `connection`, noting when it was due and when the call returned.
@Sendable func submit(_ n: Int, due: ContinuousClock.Instant, through connection: ClusterConnection) async throws {
    let id = "bench-\(n)"
    timeline.state.withLock { $0.submitted[id] = due }
    _ = try await connection.jobs.register(registerTrueJob(id, task: trueTask))
    let registered = ContinuousClock.now
    timeline.state.withLock { $0.registered[id] = registered }
}
if let submitRate {
    // Open loop: job n is due at start + n/rate, whether or not earlier ones
    // returned, and its latency counts from then (no coordinated omission);
    // at most `submitters` calls are in flight, a bound on what a stalled
    // cluster can pile up.
    try await withThrowingTaskGroup(of: Void.self) { group in
        var inFlight = 0
        for n in 0..<jobCount {
            let due = start + .nanoseconds(Int64(Double(n) * 1e9 / submitRate))
            try await Task.sleep(until: due)
            if inFlight == submitters {
                try await group.next()
                inFlight -= 1
            }
            group.addTask { try await submit(n, due: due, through: connections[n % connections.count]) }
            inFlight += 1
        }
        try await group.waitForAll()
    }
} else {
    // Closed loop: each submitter registers its next job when its last returned.
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<submitters {
            group.addTask {
                for n in stride(from: worker, to: jobCount, by: submitters) {
                    try await submit(n, due: .now, through: connections[worker % connections.count])
                }
            }
        }
        try await group.waitForAll()
    }
}
let submittedIn = ContinuousClock.now - start
let deadline = ContinuousClock.now + .seconds(600)
while ContinuousClock.now < deadline, timeline.state.withLock({ $0.completed.count }) < jobCount {
    try await Task.sleep(for: .milliseconds(50))
}
watcher.cancel()
let indexAfter = try await connections[0].cluster.status(Caravan_Api_V1_GetStatusRequest()).appliedIndex
let s = timeline.state.withLock { $0 }
guard let last = s.lastCompletion else {
    print("no job completed; logs in \(cluster.directory)")
    cluster.stop(keepLogs: true)
    exit(1)
}
let elapsed = (last - start).inSeconds
let latencies = Latencies(s.running.compactMap { id, at in s.submitted[id].map { (at - $0).inMilliseconds } })
let rate = Double(s.completed.count) / elapsed
/// Milliseconds from `from` to `to` for each main-run job that has both.
func stage(_ from: [String: ContinuousClock.Instant], _ to: [String: ContinuousClock.Instant]) -> String {
    let l = Latencies(to.compactMap { id, at in id.hasPrefix("bench-") ? from[id].map { (at - $0).inMilliseconds } : nil })
    return "p50 \(String(format: "%.1f", l.percentile(0.5))) ms, p99 \(String(format: "%.1f", l.percentile(0.99))) ms"
}
print("ClusterThroughput (\(driver) true): \(s.completed.count)/\(jobCount) jobs completed in \(String(format: "%.1f", elapsed)) s by 3 servers + 2 clients (\(submitRate.map { "open loop at \(String(format: "%.0f", $0))/s, at most \(submitters) in flight" } ?? "\(submitters) submitters"); submitted in \(String(format: "%.1f", submittedIn.inSeconds)) s)")
print("  completed:        \(String(format: "%.0f", rate)) jobs/s; \(String(format: "%.2f", Double(indexAfter - indexBefore) / Double(max(1, s.completed.count)))) Raft entries per job")
print("  submit->running:  p50 \(String(format: "%.1f", latencies.percentile(0.5))) ms, p99 \(String(format: "%.1f", latencies.percentile(0.99))) ms")
print("    of which:      register call \(stage(s.submitted, s.registered)); registered->placed \(stage(s.registered, s.placed)); placed->running \(stage(s.placed, s.running))")
print("  one at a time:    p50 \(String(format: "%.1f", unloadedLatencies.percentile(0.5))) ms, p99 \(String(format: "%.1f", unloadedLatencies.percentile(0.99))) ms submit->running (\(unloadedJobs) jobs, each submitted when the last ran); submit->placed p50 \(String(format: "%.1f", unloadedPlacings.percentile(0.5))) ms")
let peaks = ["s1", "s2", "s3", "c1", "c2"].compactMap { name in cluster.peakResidentMB(name).map { "\(name) \($0)" } }
print("  peak RSS (MiB):    \(peaks.joined(separator: ", "))")
let cpu = ["s1", "s2", "s3", "c1", "c2"].compactMap { name in cluster.cpuSeconds(name).map { (name, $0) } }
let cpuAfter = cpuByPart()
let ownCPU = processCPUSeconds(RUSAGE_SELF) - ownCPUBefore
/// CPU milliseconds per completed job in the main run.
func perJob(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1000 / Double(max(1, s.completed.count))) }
let (serversCPU, clientsCPU, tasksCPU) = (cpuAfter.servers - cpuBefore.servers, cpuAfter.clients - cpuBefore.clients, cpuAfter.tasks - cpuBefore.tasks)
print("  CPU (s):          \(cpu.map { "\($0.0) \(String(format: "%.1f", $0.1.own))" + ($0.1.children > 0 ? "+\(String(format: "%.1f", $0.1.children)) tasks" : "") }.joined(separator: ", ")); \(perJob(serversCPU + clientsCPU + tasksCPU)) ms per job in the main run")
print("  CPU per job:      servers \(perJob(serversCPU)) ms, clients \(perJob(clientsCPU)) ms, tasks \(perJob(tasksCPU)) ms (main run); this benchmark \(perJob(ownCPU)) ms")
print("  baseline:         /bin/true posix_spawn'ed sequentially at \(String(format: "%.0f", baselineRate))/s on this machine (\(String(format: "%.2f", baselineTaskCPU * 1000)) ms of CPU each, in the child); the cluster reaches \(String(format: "%.2f", rate / baselineRate))x of it")
