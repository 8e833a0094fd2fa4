import Testing
@testable import RaftCore

#if canImport(Glibc)
import Glibc
#endif

/// Runs many seeded simulations and checks Raft's safety properties after
/// every step and liveness after healing. `RAFT_SEEDS`, `RAFT_STEPS` and
/// `RAFT_SEED_BASE` size the run; `RAFT_SEED=n` replays one seed.
@Suite struct SimulationTests {
    static func environment(_ name: String) -> UInt64? {
        guard let raw = getenv(name) else { return nil }
        return UInt64(String(cString: raw))
    }

    struct Outcome: Sendable {
        var seed: UInt64
        var violations: [String]
        var faults: String
        var stats: String
    }

    static func run(seed: UInt64, steps: Int) -> Outcome {
        var simulation = Simulation(seed: seed, steps: steps)
        let violations = simulation.run()
        let s = simulation.stats
        return Outcome(
            seed: seed, violations: violations, faults: simulation.faults.description,
            stats: "proposals=\(s.proposals) committed=\(s.committed) elections=\(s.elections) crashes=\(s.crashes) "
                + "snapshots=\(s.snapshotsSent) confChanges=\(s.confChanges) transfers=\(s.transfers) reads=\(s.reads) "
                + "backpressure=\(s.backpressure)"
        )
    }

    @Test func simulatedClustersStaySafeAndLive() async throws {
        let steps = Int(Self.environment("RAFT_STEPS") ?? 2000)
        let seeds: [UInt64]
        if let one = Self.environment("RAFT_SEED") {
            seeds = [one]
        } else {
            let base = Self.environment("RAFT_SEED_BASE") ?? 1
            let count = Self.environment("RAFT_SEEDS") ?? 2000
            seeds = Array(base..<(base + count))
        }
        let workers = 2
        let outcomes = await withTaskGroup(of: [Outcome].self) { group in
            for worker in 0..<workers {
                let mine = seeds.enumerated().filter { $0.offset % workers == worker }.map(\.element)
                group.addTask {
                    // Yield between seeds: this is minutes of CPU on the shared
                    // cooperative pool, and other suites' tests run beside it.
                    var outcomes: [Outcome] = []
                    for seed in mine {
                        outcomes.append(Self.run(seed: seed, steps: steps))
                        await Task.yield()
                    }
                    return outcomes
                }
            }
            var all: [Outcome] = []
            for await part in group { all += part }
            return all.sorted { $0.seed < $1.seed }
        }
        let failed = outcomes.filter { !$0.violations.isEmpty }
        var committed = 0, elections = 0
        for outcome in outcomes {
            if let c = outcome.stats.split(separator: " ").first(where: { $0.hasPrefix("committed=") }) {
                committed += Int(c.dropFirst("committed=".count)) ?? 0
            }
            if let e = outcome.stats.split(separator: " ").first(where: { $0.hasPrefix("elections=") }) {
                elections += Int(e.dropFirst("elections=".count)) ?? 0
            }
        }
        print("simulation: \(seeds.count) seeds × \(steps) steps, \(failed.count) violations (\(committed) entries committed, \(elections) elections)")
        if seeds.count == 1, let only = outcomes.first {
            print("seed \(only.seed): \(only.faults)\n  \(only.stats)")
        }
        for outcome in failed.prefix(5) {
            print("seed \(outcome.seed) violated: \(outcome.violations.first!)\n  faults: \(outcome.faults)\n  replay: RAFT_SEED=\(outcome.seed) RAFT_STEPS=\(steps) swift test --filter SimulationTests")
        }
        #expect(failed.isEmpty, "\(failed.count) seeds violated Raft's properties; first: seed \(failed.first?.seed ?? 0)")
    }
}
