import Foundation
import Logging
import Model
import NIOPosix
import Scheduler
import Synchronization
import Transport

/// The scheduling half of the leader, as Nomad runs it: an evaluation broker
/// fed by committed evaluations, scheduler workers that plan on a snapshot of
/// the state, and one plan applier that re-checks each plan against the
/// latest state before committing it through Raft.
///
/// Active only while this server leads; on gaining leadership the broker is
/// rebuilt from the pending evaluations in the state, on losing it everything
/// outstanding is dropped (the next leader rebuilds from the same state).
actor LeaderScheduler {
    private let driver: RaftDriver<ServerStateMachine>
    private let stateMachine: ServerStateMachine
    private let logger: Logger
    private let workerCount: Int
    private let scheduler = Scheduler()

    private var broker = EvaluationBroker()
    private var active = false {
        didSet { leading.store(active, ordering: .releasing) }
    }
    /// `active`, readable without a hop onto the actor: a follower applies
    /// every registration too, and a task per apply only to be told it does
    /// not schedule cost it a thread wake-up each.
    private let leading = Atomic<Bool>(false)
    private var generation = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var tasks: [Task<Void, Never>] = []
    private var unblockScheduled = false
    /// The last unblock held capacity back for queued evaluations: once none
    /// is queued, look again (one that placed less than its share, or
    /// nothing, left room that no later change of capacity may announce).
    private var unblockAgainWhenIdle = false
    /// What each job asks for, for the unblock passes, with the job it was
    /// read from: its create index (a job purged and registered again starts
    /// its versions over) and version.
    private var jobAsks: [JobKey: (created: UInt64, version: Int, ask: BlockedEvaluations.JobAsk)] = [:]
    /// Plans verified and proposed, not yet applied: the next plan is checked
    /// against them too, so workers commit back to back without waiting on
    /// each other's Raft round and without over-committing a node together.
    private var inFlight = InFlightPlans()
    /// Workers waiting for the plans in flight before a ticket to be applied.
    private var releaseWaiters: [(ticket: UInt64, continuation: CheckedContinuation<Void, Never>)] = []

    init(driver: RaftDriver<ServerStateMachine>, stateMachine: ServerStateMachine, workers: Int, logger: Logger) {
        self.driver = driver
        self.stateMachine = stateMachine
        self.workerCount = max(1, workers)
        self.logger = logger
    }

    // MARK: Leadership

    func becameLeader() {
        guard !active else { return }
        active = true
        generation += 1
        broker = EvaluationBroker()
        let state = stateMachine.snapshotOfState
        let now = Timestamp.now
        for evaluation in state.evaluations.values where evaluation.status == .pending {
            broker.enqueue(evaluation, now: now)
        }
        let g = generation
        for i in 0..<workerCount {
            // Each worker prefers a loop of its own, round robin: otherwise
            // its planning (nonisolated) runs wherever this actor was woken,
            // and where Swift's tasks run on the loops (caravand), every
            // worker would plan on the Raft driver's thread, one core.
            let loop = EventLoopTaskExecutor(MultiThreadedEventLoopGroup.singleton.next())
            tasks.append(Task(executorPreference: loop) { await self.work(worker: i, generation: g) })
        }
        tasks.append(Task { await self.timers(generation: g) })
        logger.info("leader: scheduling with \(workerCount) workers, \(broker.count) pending evaluations")
        if state.evaluations.values.contains(where: { $0.status == .blocked }) { scheduleUnblock() }
        wakeWorkers()
    }

    func lostLeadership() {
        guard active else { return }
        active = false
        generation += 1
        broker = EvaluationBroker()
        // `inFlight` is kept: the old workers' proposals still end (commit or
        // fail) and release their tickets.
        for task in tasks { task.cancel() }
        tasks = []
        wakeWorkers()
        let waiting = releaseWaiters
        releaseWaiters = []
        for w in waiting { w.continuation.resume() }
    }

    func stop() { lostLeadership() }

    /// Whether this server schedules (``stateChanged(_:)`` does nothing otherwise).
    /// It turns true before ``becameLeader()`` reads the state it starts from,
    /// so a change it reports false for is in that state.
    nonisolated var isLeading: Bool { leading.load(ordering: .acquiring) }

    /// Called after each apply that made evaluations pending or changed capacity.
    func stateChanged(_ changes: ServerState.Changes) {
        guard active else { return }
        let now = Timestamp.now
        for evaluation in changes.pendingEvaluations { broker.enqueue(evaluation, now: now) }
        if !changes.pendingEvaluations.isEmpty { wakeWorkers() }
        if changes.capacityChanged { scheduleUnblock() }
    }

    // MARK: Workers

    /// Wakes as many waiting workers as there are evaluations to hand out
    /// (all of them when leadership ended, so that they return): waking
    /// every worker for each evaluation had all but one of them hop onto
    /// the actor, find the queue empty and wait again.
    private func wakeWorkers() {
        let count = active ? min(waiters.count, broker.dequeueable(now: .now)) : waiters.count
        guard count > 0 else { return }
        let woken = waiters.prefix(count)
        waiters.removeFirst(count)
        for w in woken { w.resume() }
    }

    private func next(generation g: Int) async -> (Evaluation, UInt64)? {
        while active && generation == g && !Task.isCancelled {
            if let item = broker.dequeue(now: .now) {
                cancelSuperseded()
                return item
            }
            await withCheckedContinuation { waiters.append($0) }
        }
        return nil
    }

    private func work(worker: Int, generation g: Int) async {
        while let (evaluation, token) = await next(generation: g) {
            let ok = await process(evaluation)
            guard generation == g else { return }
            if ok {
                broker.ack(evaluation.id, token: token)
                if unblockAgainWhenIdle, broker.isDrained {
                    unblockAgainWhenIdle = false
                    scheduleUnblock()
                }
            } else if let exhausted = broker.nack(evaluation.id, token: token) {
                var failed = exhausted
                failed.status = .failed
                failed.statusDescription = "gave up after \(broker.deliveryLimit) attempts"
                _ = try? await driver.propose(.upsertEvaluations([failed], at: .now))
            }
            wakeWorkers()
        }
    }

    /// Plans one evaluation and commits the plan; re-plans on a fresher state
    /// when the applier refused part of it. Returns false to have it redelivered.
    private nonisolated func process(_ evaluation: Evaluation) async -> Bool {
        for attempt in 1...3 {
            let now = Timestamp.now
            let current: Evaluation
            let plan: Plan
            switch planOnSnapshot(evaluation.id, now: now) {
            case .notPending:
                return true
            case let .failed(evaluation, error):
                logger.error("evaluation \(evaluation.id): \(error)")
                return await finish(evaluation, plan: nil, status: .failed, description: "\(error)")
            case let .planned(evaluation, planned):
                current = evaluation
                plan = planned
            }
            let (verdict, ticket) = await admit(plan)
            let last = attempt == 3 || verdict.isComplete
            if !last, verdict.accepted.isNoOp, verdict.accepted.blockedEvaluation == nil {
                // Nothing of it fits beside the plans in flight: plan again
                // once they are applied, as Nomad's worker waits for the
                // applier's refresh index, rather than commit an empty plan
                // through Raft to get there.
                await release(ticket)
                await plansApplied(before: ticket)
                continue
            }
            var done = current
            done.status = last ? .complete : .pending
            if !verdict.isComplete {
                done.statusDescription = verdict.refusedNodes.values.sorted().joined(separator: "; ")
            }
            var accepted = verdict.accepted
            if last, !verdict.isComplete, accepted.blockedEvaluation == nil,
               current.jobType == .batch || current.jobType == .service {
                // What the applier refused on the last attempt is not dropped:
                // a blocked evaluation places it once capacity frees up.
                accepted.blockedEvaluation = Evaluation(
                    id: EvaluationID(UUID().uuidString.lowercased()), namespace: current.namespace,
                    jobID: current.jobID, jobType: current.jobType, priority: current.priority,
                    trigger: .queuedAllocations, status: .blocked, statusDescription: done.statusDescription,
                    previousEvaluation: current.id, createdAt: now)
            }
            let committed = await commit(accepted, evaluation: done)
            await release(ticket)
            if last { return committed }
            // Committed what fits; plan the rest on the state that includes it.
            guard committed else { return false }
        }
        return true
    }

    private enum Planning {
        case notPending
        case failed(Evaluation, any Error)
        case planned(Evaluation, Plan)
    }

    /// Plans evaluation `id` on a snapshot of the state, if it is still
    /// pending. Synchronous, so that the snapshot is gone before the plan's
    /// commit is awaited: an apply that finds the state shared copies every
    /// map it changes, the whole allocation map included.
    private nonisolated func planOnSnapshot(_ id: EvaluationID, now: Timestamp) -> Planning {
        let state = stateMachine.snapshotOfState
        guard let current = state.evaluations[id], current.status == .pending else { return .notPending }
        var rng = SeededGenerator(seed: UInt64.random(in: .min ... .max))
        do {
            return .planned(current, try scheduler.process(evaluation: current, job: state.job(current.jobKey), state: state.cluster, now: now, rng: &rng))
        } catch {
            return .failed(current, error)
        }
    }

    /// The plan applier's check, one plan at a time: against the latest
    /// state and the plans still in flight.
    private func admit(_ plan: Plan) -> (verdict: PlanVerdict, ticket: UInt64) {
        inFlight.admit(plan, against: stateMachine.snapshotOfState.cluster)
    }

    private func release(_ ticket: UInt64) {
        inFlight.release(ticket)
        guard !releaseWaiters.isEmpty else { return }
        releaseWaiters.removeAll { waiter in
            guard !inFlight.holdsAny(before: waiter.ticket) else { return false }
            waiter.continuation.resume()
            return true
        }
    }

    /// Returns once every plan admitted before `ticket` was applied or
    /// dropped (or leadership was lost meanwhile).
    private func plansApplied(before ticket: UInt64) async {
        guard active, inFlight.holdsAny(before: ticket) else { return }
        await withCheckedContinuation { releaseWaiters.append((ticket, $0)) }
    }

    private nonisolated func finish(_ evaluation: Evaluation, plan: Plan?, status: EvaluationStatus, description: String) async -> Bool {
        var done = evaluation
        done.status = status
        done.statusDescription = description
        return await commit(plan ?? Plan(evaluationID: evaluation.id, jobKey: evaluation.jobKey), evaluation: done)
    }

    private nonisolated func commit(_ plan: Plan, evaluation: Evaluation) async -> Bool {
        let command = ServerCommand.applyPlan(.init(plan: plan, evaluation: evaluation, at: .now))
        do {
            _ = try await driver.propose(command)
            return true
        } catch {
            logger.warning("plan for evaluation \(evaluation.id) not committed: \(error)")
            return false
        }
    }

    private func cancelSuperseded() {
        let superseded = broker.takeSuperseded()
        guard !superseded.isEmpty else { return }
        let cancelled = superseded.map { e -> Evaluation in
            var c = e
            c.status = .cancelled
            c.statusDescription = "superseded by a newer evaluation of the job"
            return c
        }
        Task { _ = try? await driver.propose(.upsertEvaluations(cancelled, at: .now)) }
    }

    // MARK: Blocked and delayed evaluations

    /// Capacity changed: set the blocked evaluations it may serve pending again (coalesced).
    private func scheduleUnblock() {
        guard !unblockScheduled else { return }
        unblockScheduled = true
        let g = generation
        Task {
            try? await Task.sleep(for: .milliseconds(50))
            await self.unblock(generation: g)
        }
    }

    private func unblock(generation g: Int) async {
        unblockScheduled = false
        guard active, generation == g else { return }
        let worthPlanning: [Evaluation]
        do {
            // Gone before the proposal is awaited (see `planOnSnapshot(_:now:)`).
            let state = stateMachine.snapshotOfState
            let blocked = Array(state.blockedEvaluations.values)
            let queued = blocked.isEmpty ? [] : broker.queuedJobs
            var cache = jobAsks
            if cache.count > 2 * (blocked.count + queued.count) + 1024 { cache = [:] }
            worthPlanning = BlockedEvaluations.worthPlanning(
                blocked, queued: queued,
                asks: { key in
                    guard let record = state.jobs[key] else { return nil }
                    let version = record.versions[record.versions.count - 1].version
                    if let cached = cache[key], cached.created == record.createIndex, cached.version == version { return cached.ask }
                    let ask = BlockedEvaluations.JobAsk(record.current)
                    cache[key] = (record.createIndex, version, ask)
                    return ask
                },
                cluster: state.cluster, configuration: scheduler.configuration)
            jobAsks = cache
            if !queued.isEmpty && worthPlanning.count < blocked.count { unblockAgainWhenIdle = true }
        }
        guard !worthPlanning.isEmpty else { return }
        let now = Timestamp.now
        let pending = worthPlanning.map { e -> Evaluation in
            var p = e
            p.status = .pending
            p.statusDescription = "capacity changed"
            p.createdAt = now
            return p
        }
        _ = try? await driver.propose(.upsertEvaluations(pending, at: now))
    }

    /// Redelivers evaluations whose worker went silent and releases delayed ones.
    private func timers(generation g: Int) async {
        while active, generation == g, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            guard active, generation == g else { return }
            let failed = broker.expire(now: .now)
            if !failed.isEmpty {
                let marked = failed.map { e -> Evaluation in
                    var f = e
                    f.status = .failed
                    f.statusDescription = "no worker finished it in time"
                    return f
                }
                Task { _ = try? await driver.propose(.upsertEvaluations(marked, at: .now)) }
            }
            // Redelivered and due evaluations.
            wakeWorkers()
        }
    }
}

extension Timestamp {
    /// The wall-clock time now.
    static var now: Timestamp {
        Timestamp(sinceEpoch: .nanoseconds(Int64(Date().timeIntervalSince1970 * 1_000_000_000)))
    }
}
