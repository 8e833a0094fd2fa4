import Foundation
import Model
import RaftCore
import Synchronization

/// The ``ServerState`` behind Raft: decodes each committed entry into a
/// ``ServerCommand``, applies it, and tells `onChange` what changed.
///
/// Reads take a copy of the state (copy-on-write, O(1)) under a lock, so API
/// handlers and scheduler workers never block the apply path for long.
public final class ServerStateMachine: ReplicatedStateMachine, Sendable {
    public typealias Output = CommandOutcome
    public typealias Command = ServerCommand

    private let state = Mutex(ServerState())
    private let onChange: @Sendable (ServerState.Changes) -> Void

    /// - Parameter onChange: called after each apply that made evaluations
    ///   pending, changed capacity or membership; it must not block.
    public init(onChange: @escaping @Sendable (ServerState.Changes) -> Void = { _ in }) {
        self.onChange = onChange
    }

    /// The state as of the latest applied entry.
    public var snapshotOfState: ServerState { state.withLock { $0 } }

    /// The entry for `command`, in the Packed form (as snapshots are;
    /// entries and snapshots written as JSON before it still read).
    public static func encode(_ command: ServerCommand) -> [UInt8] {
        // Encoding a value of these types cannot fail: none throws in `encode(to:)`,
        // and their containers nest as Packed requires.
        (try? Packed.encode(command)) ?? []
    }

    /// The command `encode` wrote; throws when `bytes` are not one (written by
    /// a newer version, or damaged).
    public static func decode(_ bytes: [UInt8]) throws -> ServerCommand {
        try Packed.decode(ServerCommand.self, fromPackedOrJSON: bytes)
    }

    /// Applies `entry`: `proposed`, when this server proposed it, or else its
    /// decoding. Debug builds decode it anyway and check that both agree, as
    /// the followers, which decode, must reach the leader's state.
    public func apply(_ entry: Entry, proposed: ServerCommand?) -> CommandOutcome {
        let command: ServerCommand
        do {
            if let proposed {
                // (A command holding a NaN, which the JSON reader accepts in a
                // task's config, is unequal to itself, and so to any decoding.)
                assert(proposed == (try? Self.decode(entry.data)) || proposed != proposed,
                       "entry \(entry.index) does not decode to the command proposed")
                command = proposed
            } else {
                command = try Self.decode(entry.data)
            }
        } catch {
            state.withLock { $0.skip(at: entry.index) }
            return .undecodable("entry \(entry.index) is not a command this server understands: \(error)")
        }
        let (outcome, changes) = state.withLock { $0.apply(command, at: entry.index) }
        if !changes.isEmpty { onChange(changes) }
        return outcome
    }

    /// A membership change's context: the new member's description as JSON.
    public static func context(for member: MemberDescription) -> [UInt8] {
        (try? Array(JSONEncoder().encode(member))) ?? []
    }

    /// The member a membership change's context describes; nil for a change
    /// that carries none (a member made a learner or a voter again).
    static func member(fromContext context: [UInt8]) -> MemberDescription? {
        try? JSONDecoder().decode(MemberDescription.self, from: Data(context))
    }

    public func applyMembershipChange(_ change: ConfChange, at index: UInt64) {
        let description = Self.member(fromContext: change.context)
        state.withLock { state in
            if change.type == .removeNode {
                state.applyMembership(nil, removing: change.nodeID, at: index)
            } else {
                state.applyMembership(description.map { MemberDescription(id: change.nodeID, name: $0.name, address: $0.address) }, removing: nil, at: index)
            }
        }
        var changes = ServerState.Changes()
        changes.membersChanged = true
        onChange(changes)
    }

    public func snapshot() -> @Sendable () -> [UInt8] {
        let captured = state.withLock { $0 }
        return { (try? Packed.encode(captured.image)) ?? [] }
    }

    public func restore(_ data: [UInt8]) throws {
        let image = try Packed.decode(ServerState.Image.self, fromPackedOrJSON: data)
        state.withLock { $0 = ServerState(image: image) }
        var changes = ServerState.Changes()
        changes.stateReplaced = true
        onChange(changes)
    }
}

extension RaftDriver where StateMachine == ServerStateMachine {
    /// Proposes `command` (see ``propose(_:decoded:)``); this replica applies it without decoding it.
    nonisolated func propose(_ command: ServerCommand) async throws -> CommandOutcome? {
        try await propose(ServerStateMachine.encode(command), decoded: command)
    }

    /// Submits `command` (see ``submit(_:decoded:)``); this replica applies it without decoding it.
    nonisolated func submit(_ command: ServerCommand) async throws -> CommandOutcome? {
        try await submit(ServerStateMachine.encode(command), decoded: command)
    }
}
