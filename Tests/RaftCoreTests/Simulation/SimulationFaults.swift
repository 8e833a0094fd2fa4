@testable import RaftCore

/// The fault profile of one simulated run, drawn from its seed.
struct SimulationFaults: CustomStringConvertible {
    var dropRate: Double
    var duplicateRate: Double
    /// Messages take 0...maxDelay steps (so they may arrive out of order).
    var maxDelay: Int
    /// Per-step chance that a node crashes (losing what it did not persist).
    var crashRate: Double
    var partitionRate: Double
    var membershipRate: Double
    var transferRate: Double
    var snapshotRate: Double
    /// A small limit makes proposals meet backpressure.
    var maxUncommittedBytes: UInt64
    var readOnly: ReadOnlyOption
    /// A Ready's writes take steps, during which the replica keeps taking
    /// input (as the Raft driver does); otherwise each Ready completes at once.
    var slowWrites: Bool

    init(rng: inout SeededGenerator) {
        func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
        dropRate = pick([0, 0, 0.01, 0.05, 0.15])
        duplicateRate = pick([0, 0.01, 0.05])
        maxDelay = pick([0, 1, 2, 4, 8])
        crashRate = pick([0, 0.002, 0.005, 0.01])
        partitionRate = pick([0, 0.005, 0.01, 0.02])
        membershipRate = pick([0, 0.005, 0.01])
        transferRate = pick([0, 0.002, 0.01])
        snapshotRate = pick([0.002, 0.01, 0.03])
        maxUncommittedBytes = pick([0, 64, 1 << 20])
        readOnly = pick([.safe, .safe, .leaseBased])
        slowWrites = pick([false, true])
    }

    var description: String {
        "drop=\(dropRate) dup=\(duplicateRate) delay≤\(maxDelay) crash=\(crashRate) partition=\(partitionRate) "
            + "membership=\(membershipRate) transfer=\(transferRate) snapshot=\(snapshotRate) "
            + "uncommitted≤\(maxUncommittedBytes) reads=\(readOnly) slowWrites=\(slowWrites)"
    }
}
