// What an applied plan costs the cluster state while readers hold copies of
// it, as they do on a server: every scheduler worker plans on a copy, every
// node's allocation watch and every API read takes one. A change to a part
// of the state a copy shares copies that part first, so what matters is how
// big the parts are that one change touches.
//
// The flood's changes, on two nodes: N one-allocation jobs are placed (one
// plan each), then each allocation runs and completes (one update each).
// Measured twice in the same run: with no copy held (the baseline), and with
// a copy taken before every change and dropped after it.
//
//   cd Benchmarks && swift build -c release --product StateUnderReaders
//   .build/release/StateUnderReaders [N=10000]
import Model
import Scheduler

let n = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10_000 : 10_000
let nodes = (1...2).map { i in
    Node(id: NodeID("node-\(i)"), name: "c\(i)", resources: NodeResources(cpu: 1_000_000, cores: 2, memoryMB: 1_000_000, diskMB: 1_000_000))
}

/// Seconds to make the flood's 3·N changes, taking a copy before each when `readers`.
func run(readers: Bool) -> (seconds: Double, checksum: Int) {
    var state = ClusterState(nodes: nodes)
    var held: [ClusterState] = []
    var checksum = 0
    let allocations = (0..<n).map { i in
        Allocation(id: AllocationID("alloc-\(i)"), jobID: "job-\(i)", jobType: .batch, group: "g",
                   nodeID: nodes[0].id, resources: AllocatedResources(cpu: 10, memoryMB: 10))
    }
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        func change(_ body: (inout ClusterState) -> Void) {
            if readers { held.append(state) }
            body(&state)
            if readers { checksum &+= held.removeLast().allocations.count }
        }
        for a in allocations {
            change { $0.apply(Plan(evaluationID: EvaluationID("eval-\(a.jobID)"), jobKey: a.jobKey, placements: [a])) }
        }
        for status in [ClientStatus.running, .complete] {
            for var a in allocations {
                a.clientStatus = status
                change { $0.upsert(a) }
            }
        }
    }
    return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, checksum + state.allocations.count)
}

_ = run(readers: false)  // warm up
let alone = run(readers: false)
let withReaders = run(readers: true)
let perChange = { (s: Double) in s * 1e6 / Double(3 * n) }
print("StateUnderReaders: \(n) allocations placed, run and completed on 2 nodes (\(3 * n) changes)")
print("  no copy held:          \(String(format: "%.2f", perChange(alone.seconds))) µs per change")
print("  a copy held each time: \(String(format: "%.2f", perChange(withReaders.seconds))) µs per change (\(String(format: "%.1f", withReaders.seconds / alone.seconds))x)")
