import Foundation
import Model
import Scheduler

/// Why a control-plane request failed, in terms a caller can act on.
public enum ControlPlaneError: Error, Sendable, Equatable, CustomStringConvertible {
    /// This server does not lead; `leader` is the one it knows of (0 if none).
    case notLeader(leader: UInt64)
    /// Too many writes are waiting to commit: retry after the hint.
    case overloaded(retryAfterMilliseconds: Int)
    /// The request is invalid; the text names every problem.
    case invalidArgument(String)
    case notFound(String)
    /// The request is valid but the cluster's state does not allow it; the text says why.
    case failedPrecondition(String)
    /// The write was not applied (a change of leader dropped it, or storage failed).
    case unavailable(String)

    public var description: String {
        switch self {
        case .notLeader(let leader):
            leader == 0 ? "no leader is known yet; retry shortly" : "this server does not lead; the leader is server \(leader)"
        case .overloaded(let ms): "the server is overloaded; retry after \(ms) ms"
        case .invalidArgument(let text): text
        case .notFound(let text): text
        case .failedPrecondition(let text): text
        case .unavailable(let text): text
        }
    }
}

/// The control plane's operations in Model terms: the one service layer that
/// the gRPC handlers (and later the HTTP/JSON API) call. A write returns only
/// once it is committed and applied here; a read is linearizable (ReadIndex)
/// unless `stale` is asked for.
public final class ControlPlane: Sendable {
    let driver: RaftDriver<ServerStateMachine>
    let stateMachine: ServerStateMachine

    init(driver: RaftDriver<ServerStateMachine>, stateMachine: ServerStateMachine) {
        self.driver = driver
        self.stateMachine = stateMachine
    }

    public struct Registration: Sendable, Hashable {
        public var jobVersion: Int
        public var evaluationID: EvaluationID?
        public var index: UInt64
    }

    /// Registers `spec` (already validated) and creates its evaluation.
    public func registerJob(_ spec: JobSpec, idempotencyKey: String?) async throws(ControlPlaneError) -> Registration {
        let command = ServerCommand.registerJob(.init(
            spec: spec, evaluationID: EvaluationID(UUID().uuidString.lowercased()),
            idempotencyKey: idempotencyKey.flatMap { $0.isEmpty ? nil : $0 }, at: .now))
        switch try await submit(command) {
        case .jobRegistered(let version, let evaluation, let index, _):
            return Registration(jobVersion: version, evaluationID: evaluation, index: index)
        case let other:
            throw .unavailable("unexpected outcome of register: \(other)")
        }
    }

    /// Stops a job (and with `purge`, removes it).
    public func stopJob(_ key: JobKey, purge: Bool) async throws(ControlPlaneError) -> (evaluationID: EvaluationID?, index: UInt64) {
        let state = try await read(stale: false)
        guard state.jobs[key] != nil else { throw .notFound("job \"\(key.id)\" is not registered in namespace \"\(key.namespace)\"") }
        let command = ServerCommand.stopJob(.init(key: key, purge: purge, evaluationID: EvaluationID(UUID().uuidString.lowercased()), at: .now))
        switch try await submit(command) {
        case .jobStopped(let evaluation, let index): return (evaluation, index)
        case .rejected(let why): throw .notFound(why)
        case let other: throw .unavailable("unexpected outcome of stop: \(other)")
        }
    }

    /// What registering `spec` would do now, without doing it.
    public func planJob(_ spec: JobSpec) async throws(ControlPlaneError) -> (plan: Plan, modifyIndex: UInt64) {
        let state = try await read(stale: false)
        let current = state.jobs[spec.key]
        let version = current.map { $0.current.spec == spec && !$0.current.stopped ? $0.current.version : $0.current.version + 1 } ?? 0
        let job = Job(spec: spec, version: version, submittedAt: .now)
        let evaluation = Evaluation(id: "plan", namespace: spec.namespace, jobID: spec.id, jobType: spec.type, priority: spec.priority, createdAt: .now)
        var rng = SeededGenerator(seed: 1)
        do {
            let plan = try Scheduler().process(evaluation: evaluation, job: job, state: state.cluster, now: .now, rng: &rng)
            return (plan, current?.modifyIndex ?? 0)
        } catch {
            throw .invalidArgument("\(error)")
        }
    }

    /// This server's Raft status, if it leads: membership changes and
    /// transfers are decided by the leader's view, not a lagging member's.
    func leaderStatus() async throws(ControlPlaneError) -> RaftDriver<ServerStateMachine>.Status {
        let status = await driver.status
        guard status.role == .leader else { throw .notLeader(leader: status.leader) }
        return status
    }

    /// Whether this server can serve: a leader is known and the state has
    /// caught up with the commit index (what `/health/ready` reports).
    public func readiness() async -> (ready: Bool, reason: String) {
        let status = await driver.status
        if status.leader == 0 { return (false, "no leader is known") }
        if status.appliedIndex < status.commitIndex {
            return (false, "applied index \(status.appliedIndex) is behind the commit index \(status.commitIndex)")
        }
        return (true, "")
    }

    /// The replicated state; linearizable unless `stale`.
    public func read(stale: Bool) async throws(ControlPlaneError) -> ServerState {
        if !stale {
            do {
                try await driver.linearizableBarrier()
            } catch {
                throw Self.translate(error)
            }
        }
        return stateMachine.snapshotOfState
    }

    /// Replicates `command` if this server leads, and returns what applying
    /// it produced. For commands built from this server's latest state, or
    /// that the leader's own components must see (heartbeats).
    func propose(_ command: ServerCommand) async throws(ControlPlaneError) -> CommandOutcome {
        try await replicate { try await $0.propose(command) }
    }

    /// Replicates `command` through whichever server leads (a follower
    /// forwards it over Raft), and returns what applying it produced here.
    /// For commands built from the request alone or from a linearizable read.
    func submit(_ command: ServerCommand) async throws(ControlPlaneError) -> CommandOutcome {
        try await replicate { try await $0.submit(command) }
    }

    private func replicate(
        _ write: (RaftDriver<ServerStateMachine>) async throws -> CommandOutcome?
    ) async throws(ControlPlaneError) -> CommandOutcome {
        let outcome: CommandOutcome?
        do {
            outcome = try await write(driver)
        } catch {
            throw Self.translate(error)
        }
        guard let outcome else {
            throw .unavailable("the write committed, but this server restored a snapshot past it; read the state to see its effect")
        }
        return outcome
    }

    static func translate(_ error: any Error) -> ControlPlaneError {
        guard let error = error as? RaftDriverError else { return .unavailable("\(error)") }
        switch error {
        case .notLeader(let leader): return .notLeader(leader: leader)
        case .overloaded(let ms): return .overloaded(retryAfterMilliseconds: ms)
        case .dropped: return .unavailable("the write was dropped by a change of leader before it committed; retry it")
        case .storageFailed(let why): return .unavailable("this server cannot write its log and accepts no writes: \(why)")
        case .stopped: return .unavailable("the server is shutting down")
        case .rejected(let why): return .unavailable(why)
        case .outcomeUnknown(let why): return .unavailable("whether the write took effect is unknown (\(why)): read the state before retrying it")
        }
    }
}
