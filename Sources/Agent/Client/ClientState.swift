import Foundation
import Model
import Storage

/// What a client keeps on its own disk, so that a restarted client knows
/// its node ID, reattaches to its running tasks instead of starting them
/// again, and still sends the status updates it could not send before.
///
/// Keys: `node/id`; `alloc/<id>` → ``LocalAllocation`` as it arrived;
/// `allocstate/<id>` → its ``RunState`` since (what changes while it runs,
/// written without the allocation and job); `status/<seq>` → a buffered
/// ``ClientAllocationUpdate``, with `seq` a big-endian counter so a prefix
/// scan returns them in the order they were observed; `statusseq` → the
/// last `seq` given (big-endian), so that numbers keep rising after every
/// buffered update was acknowledged and deleted. Values are Packed
/// (JSON from before it still reads; so do `alloc/` records that hold the
/// run state themselves, as they did before `allocstate/`).
final class ClientState: Sendable {
    let store: any KeyValueStore

    init(store: any KeyValueStore) {
        self.store = store
    }

    /// One allocation as the client knows it.
    struct LocalAllocation: Codable, Sendable {
        var allocation: Allocation
        var job: Job
        var checkpoint: AllocationCheckpoint?
        var status: ClientStatus

        var runState: RunState {
            get { RunState(checkpoint: checkpoint, status: status) }
            set { (checkpoint, status) = (newValue.checkpoint, newValue.status) }
        }
    }

    /// What changes while an allocation runs.
    struct RunState: Codable, Sendable {
        var checkpoint: AllocationCheckpoint?
        var status: ClientStatus
    }

    func nodeID() throws -> NodeID {
        if let stored = try store.get(Array("node/id".utf8)) { return NodeID(String(decoding: stored, as: UTF8.self)) }
        let id = NodeID(UUID().uuidString.lowercased())
        try store.put(Array("node/id".utf8), Array(id.rawValue.utf8))
        return id
    }

    func allocations() throws -> [LocalAllocation] {
        var states: [String: RunState] = [:]
        let statePrefix = Array("allocstate/".utf8)
        for pair in try store.scan(prefix: statePrefix) {
            guard let state = try? Packed.decode(RunState.self, fromPackedOrJSON: pair.value) else { continue }
            states[String(decoding: pair.key.dropFirst(statePrefix.count), as: UTF8.self)] = state
        }
        return try store.scan(prefix: Array("alloc/".utf8)).compactMap { pair in
            guard var local = try? Packed.decode(LocalAllocation.self, fromPackedOrJSON: pair.value) else { return nil }
            if let state = states[local.allocation.id.rawValue] { local.runState = state }
            return local
        }
    }

    static func key(_ id: AllocationID) -> [UInt8] { Array("alloc/\(id.rawValue)".utf8) }
    static func stateKey(_ id: AllocationID) -> [UInt8] { Array("allocstate/\(id.rawValue)".utf8) }

    /// Deletes the state of allocations that were collected.
    func forget(_ ids: [AllocationID]) throws {
        var batch = KeyValueBatch()
        for id in ids {
            batch.delete(Self.key(id))
            batch.delete(Self.stateKey(id))
        }
        try store.write(batch)
    }

    /// Saves allocations that `arrived` (with their jobs) and the run states
    /// of allocations, and buffers `updates` under their sequence numbers
    /// (each above those already buffered), in one durable batch.
    func write(_ arrived: [LocalAllocation], states: [AllocationID: RunState] = [:],
               buffering updates: [(UInt64, ClientAllocationUpdate)] = []) throws {
        var batch = KeyValueBatch()
        for allocation in arrived {
            batch.put(Self.key(allocation.allocation.id), try Packed.encode(allocation))
        }
        for (id, state) in states {
            batch.put(Self.stateKey(id), try Packed.encode(state))
        }
        for (sequence, update) in updates {
            batch.put(Self.statusKey(sequence), try Packed.encode(update))
        }
        if let last = updates.last?.0 { batch.put(Self.lastSequenceKey, Self.bigEndian(last)) }
        try store.write(batch)
    }

    /// The last sequence number given to a buffered update, 0 if none ever was.
    func lastSequence() throws -> UInt64 {
        try store.get(Self.lastSequenceKey).map { Self.integer(bigEndian: $0[...]) } ?? 0
    }

    /// The buffered updates, oldest first (read once at
    /// start: a running client keeps them in memory too, since scanning a
    /// queue of deleted keys gets slower with every delete).
    func buffered() throws -> [(UInt64, ClientAllocationUpdate)] {
        try store.scan(prefix: Array("status/".utf8)).compactMap { pair in
            guard let update = try? Packed.decode(ClientAllocationUpdate.self, fromPackedOrJSON: pair.value) else { return nil }
            return (Self.integer(bigEndian: pair.key.dropFirst("status/".utf8.count)), update)
        }
    }

    func acknowledge(through sequences: [UInt64]) throws {
        var batch = KeyValueBatch()
        for s in sequences { batch.delete(Self.statusKey(s)) }
        try store.write(batch)
    }

    static func statusKey(_ sequence: UInt64) -> [UInt8] { Array("status/".utf8) + bigEndian(sequence) }
    static let lastSequenceKey = Array("statusseq".utf8)

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (UInt64($0) * 8)) }
    }

    static func integer(bigEndian bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
