import API
import Executor
import Foundation
import GRPCCore
import Logging
import Model
import NIOPosix
import Storage
import Synchronization
import Transport

/// One client node: it registers with the servers, heartbeats, watches its
/// allocations, runs them with the task drivers and reports their status.
///
/// It keeps running its allocations while cut off from every server: status
/// updates are buffered on its disk and sent, in order, once a server is
/// reachable again. A restarted client reattaches to the tasks still running.
///
/// ```swift
/// let client = try await ClientAgent.start(ClientConfiguration(name: "edge-1", servers: [address]))
/// try await client.run()       // until shutdown()
/// ```
public actor ClientAgent {
    public nonisolated let configuration: ClientConfiguration
    public nonisolated let nodeID: NodeID
    /// Where the allocations' directories are.
    public nonisolated let allocationsDirectory: String

    private let local: ClientState
    private let rocks: RocksDBStore?
    private let drivers: DriverRegistry
    private let logger: Logger
    private let node: Node
    private var servers: [PeerAddress]
    private var runners: [AllocationID: AllocationRunner] = [:]
    private var known: [AllocationID: ClientState.LocalAllocation] = [:]
    /// Finished allocations, oldest first: the ones collected beyond
    /// ``ClientConfiguration/finishedAllocationsKept``.
    private var finished: [AllocationID] = []
    /// Runners of finished allocations being destroyed; a directory is
    /// removed only after its runner is done with it.
    private var destroying: [AllocationID: Task<Void, Never>] = [:]
    /// The number of the last status update buffered (``ClientAllocationUpdate/sequence``).
    private var sequence: UInt64
    /// Status updates buffered on disk and not yet acknowledged by a server, oldest first.
    private var outbox: [(UInt64, ClientAllocationUpdate)]
    /// Status batches sent in this session and not yet answered: by the
    /// last sequence number of each, the numbers it holds.
    private var unanswered: [UInt64: [UInt64]] = [:]
    private var stopped = false
    private var shutdownWork: Task<Void, Never>?
    private let inbox = RunnerInbox()
    private let flushes: AsyncStream<Void>.Continuation
    private let flushStream: AsyncStream<Void>
    private let connected = Mutex<PeerAddress?>(nil)
    private let stopSignal: AsyncStream<Void>
    private let stopSignalContinuation: AsyncStream<Void>.Continuation
    /// Writes the runners' statuses and checkpoints, in order.
    private var recorder: Task<Void, Never>?
    /// How long the local state's synced writes take (see ``durably(_:)``).
    private var writeTimes = SyncedWriteTimes()

    fileprivate enum RunnerEvent: Sendable {
        case status(AllocationID, AllocationRunStatus, Timestamp)
        case checkpoint(AllocationID, AllocationCheckpoint)
    }

    /// Opens the local state, fingerprints the node and reattaches to the
    /// allocations it was running; call ``run()`` to talk to the servers.
    public static func start(_ configuration: ClientConfiguration, drivers: DriverRegistry? = nil,
                             logger: Logger = Logger(label: "caravan.client")) async throws -> ClientAgent {
        let directory = configuration.dataDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("caravan-client-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/allocations", withIntermediateDirectories: true)
        let rocks: RocksDBStore?
        let store: any KeyValueStore
        if configuration.dataDirectory != nil {
            do {
                rocks = try RocksDBStore(path: directory + "/state")
            } catch {
                throw ClientStartError.dataDirectory(directory, "\(error)")
            }
            store = rocks!.keyValues
        } else {
            rocks = nil
            store = InMemoryKeyValueStore()
        }
        let local = ClientState(store: store)
        let registry = drivers ?? DriverRegistry.builtIn(
            dockerSocket: configuration.dockerSocket ?? DockerDriver.defaultSocket, stateDirectory: directory)
        let id = try local.nodeID()
        let node = await Fingerprint.node(id: id, configuration: configuration, drivers: registry, dataDirectory: directory)
        let agent = ClientAgent(
            configuration: configuration, nodeID: id, node: node, directory: directory, local: local, rocks: rocks,
            drivers: registry, outbox: try local.buffered(), lastSequence: try local.lastSequence(), logger: logger)
        await agent.startRecording()
        try await agent.reattach()
        return agent
    }

    private init(configuration: ClientConfiguration, nodeID: NodeID, node: Node, directory: String, local: ClientState,
                 rocks: RocksDBStore?, drivers: DriverRegistry, outbox: [(UInt64, ClientAllocationUpdate)],
                 lastSequence: UInt64, logger: Logger) {
        self.configuration = configuration
        self.nodeID = nodeID
        self.node = node
        self.allocationsDirectory = directory + "/allocations"
        self.local = local
        self.rocks = rocks
        self.drivers = drivers
        self.outbox = outbox
        sequence = max(outbox.last?.0 ?? 0, lastSequence)
        self.logger = logger
        servers = configuration.servers
        (flushStream, flushes) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (stopSignal, stopSignalContinuation) = AsyncStream.makeStream()
    }

    /// The server this client talks to now, if any.
    public nonisolated var connectedServer: PeerAddress? { connected.withLock { $0 } }

    /// The allocations this client runs or ran, with their last status.
    public var allocations: [AllocationID: ClientStatus] { known.mapValues(\.status) }

    // MARK: Running

    /// Talks to the servers until ``shutdown()``, failing over between them;
    /// the allocations keep running whether or not a server is reachable.
    public func run() async {
        let stopping = stopSignal
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.sessions() }
            group.addTask { await self.logRelays() }
            group.addTask { for await _ in stopping {} }
            await group.next()
            group.cancelAll()
        }
    }

    /// Stops talking to the servers and lets go of the allocations without
    /// stopping them: a client started again on the same data directory
    /// reattaches to them. Every caller returns only when the shutdown has
    /// finished, whoever started it.
    public func shutdown() async {
        if let shutdownWork { return await shutdownWork.value }
        let work = Task { await stopEverything() }
        shutdownWork = work
        await work.value
    }

    private func stopEverything() async {
        stopped = true
        stopSignalContinuation.finish()
        for runner in runners.values { await runner.detach() }
        // Write the runners' last events before the store closes.
        inbox.finish()
        await recorder?.value
        flushes.finish()
        rocks?.close()
    }

    private func sessions() async {
        var attempt = 0
        while !stopped && !Task.isCancelled {
            let address = servers[attempt % max(1, servers.count)]
            do {
                try await session(with: address)
                attempt = 0
            } catch {
                connected.withLock { $0 = nil }
                if stopped || Task.isCancelled { return }
                logger.info("lost server \(address): \(error)")
                attempt += 1
                try? await Task.sleep(for: .milliseconds(min(2000, 100 << min(attempt, 5))) * Double.random(in: 0.5...1.0))
            }
        }
    }

    /// Registers with `address`, then heartbeats, watches allocations and
    /// sends buffered status updates until any of them fails.
    private func session(with address: PeerAddress) async throws {
        let connection = try ClusterConnection(address: address, security: configuration.security)
        defer { connection.close() }
        let registration = try await connection.node.register(Caravan_Node_V1_RegisterRequest(node, version: "0.1.0"))
        learn(registration.servers)
        connected.withLock { $0 = address }
        logger.info("registered node \(node.name) (\(nodeID)) with \(address)")
        let ttl = Duration.milliseconds(Int64(max(registration.heartbeatTtlMs, 100)))
        let id = nodeID
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.heartbeats(connection, ttl: ttl) }
            group.addTask {
                var request = Caravan_Node_V1_WatchAllocationsRequest()
                request.nodeID = id.rawValue
                request.packed = true
                try await connection.node.watchAllocations(request) { response in
                    for try await update in response.messages { await self.apply(update) }
                }
                throw ClientSessionError.streamEnded
            }
            group.addTask { try await self.flushStatuses(connection) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func heartbeats(_ connection: ClusterConnection, ttl initial: Duration) async throws {
        var ttl = initial
        var request = Caravan_Node_V1_HeartbeatRequest()
        request.nodeID = nodeID.rawValue
        request.status = "ready"
        while !Task.isCancelled {
            // Well inside the TTL, spread so a cluster's nodes do not beat together.
            try await Task.sleep(for: ttl * Double.random(in: 0.3...0.5))
            let response = try await connection.node.heartbeat(request)
            if response.reregister { throw ClientSessionError.mustRegister }
            learn(response.servers)
            ttl = .milliseconds(Int64(max(response.heartbeatTtlMs, 100)))
        }
    }

    private func learn(_ addresses: [String]) {
        let learned = addresses.compactMap { PeerAddress($0) }
        guard !learned.isEmpty else { return }
        var all = configuration.servers
        for a in learned where !all.contains(a) { all.append(a) }
        servers = all
    }

    // MARK: Allocations

    private func apply(_ update: Caravan_Node_V1_AllocationUpdate) async {
        var listed = Set<AllocationID>()
        // New allocations are written down (one synced batch) before they start.
        var arrived: [ClientState.LocalAllocation] = []
        for assignment in update.allocations {
            let id = AllocationID(assignment.allocationID)
            listed.insert(id)
            // One this client runs already needs nothing decoded.
            if assignment.desiredStatus == DesiredStatus.run.rawValue, known[id] != nil { continue }
            guard let allocation = try? WirePayload.decode(Allocation.self, packed: assignment.allocationPacked, json: assignment.allocationJson) else {
                logger.error("allocation \(id) arrived without a readable allocation; ignoring it")
                continue
            }
            if allocation.desiredStatus == .run {
                guard known[id] == nil else { continue }
                guard let job = try? WirePayload.decode(Job.self, packed: assignment.jobPacked, json: assignment.jobJson) else {
                    logger.error("allocation \(id) arrived without a readable job; ignoring it")
                    continue
                }
                let record = ClientState.LocalAllocation(allocation: allocation, job: job, checkpoint: nil, status: .pending)
                known[id] = record
                arrived.append(record)
            } else {
                stop(id, because: allocation.desiredDescription)
            }
        }
        do {
            try await durably { [local, arrived] in try local.write(arrived) }
        } catch {
            logger.error("cannot save \(arrived.count) new allocations: \(error)")
        }
        for record in arrived {
            let runner = makeRunner(record.allocation, record.job)
            runners[record.allocation.id] = runner
            await runner.start()
        }
        if update.full {
            for id in runners.keys where !listed.contains(id) { stop(id, because: "no longer assigned to this node") }
        }
        for id in update.removedAllocationIds.map({ AllocationID($0) }) { stop(id, because: "no longer assigned to this node") }
    }

    private func stop(_ id: AllocationID, because reason: String) {
        guard let runner = runners[id] else { return }
        logger.info("stopping allocation \(id): \(reason)")
        Task { await runner.stop() }
    }

    private func makeRunner(_ allocation: Allocation, _ job: Job) -> AllocationRunner {
        let id = allocation.id
        let inbox = self.inbox
        return AllocationRunner(
            allocation: allocation, job: job, drivers: drivers, allocationsDirectory: allocationsDirectory,
            datasets: configuration.datasets, cpuMHzPerCore: Double(node.resources.cpu / max(1, node.resources.cores)),
            onStatus: { status in inbox.put(.status(id, status, .now)) },
            onCheckpoint: { checkpoint in inbox.put(.checkpoint(id, checkpoint)) })
    }

    /// After a restart: reattach to what was running, remember what finished.
    private func reattach() async throws {
        for record in try local.allocations().sorted(by: { $0.allocation.createdAt < $1.allocation.createdAt }) {
            known[record.allocation.id] = record
            guard !record.status.isTerminal else {
                finished.append(record.allocation.id)
                continue
            }
            let runner = makeRunner(record.allocation, record.job)
            runners[record.allocation.id] = runner
            if let checkpoint = record.checkpoint {
                await runner.restore(checkpoint)
            } else {
                await runner.start()
            }
        }
        if !runners.isEmpty { logger.info("reattached to \(runners.count) allocations") }
    }

    private func startRecording() {
        let inbox = self.inbox
        recorder = Task {
            // Everything the runners reported since the last write goes to
            // disk as one batch with one sync: the client's group commit.
            for await _ in inbox.wakeups { await self.record(inbox.take()) }
            await self.record(inbox.take())
        }
    }

    /// Writes runners' statuses and checkpoints to the local state in one
    /// batch, and queues the statuses for the servers.
    private func record(_ batch: [RunnerEvent]) async {
        guard !batch.isEmpty else { return }
        var dirty: [AllocationID: ClientState.RunState] = [:]
        var updates: [ClientAllocationUpdate] = []
        var ended: [AllocationID] = []
        for event in batch {
            switch event {
            case .checkpoint(let id, let checkpoint):
                guard var record = known[id] else { continue }
                record.checkpoint = checkpoint
                known[id] = record
                dirty[id] = record.runState
            case .status(let id, let status, let observed):
                guard var record = known[id], record.status != status.clientStatus || !status.clientStatus.isTerminal else { continue }
                // Pending again changes nothing stored here, and the servers
                // made the allocation pending: telling them so again would
                // only hold its next status back by one round trip.
                if record.status == .pending && status.clientStatus == .pending { continue }
                let wasTerminal = record.status.isTerminal
                record.status = status.clientStatus
                known[id] = record
                dirty[id] = record.runState
                updates.append(ClientAllocationUpdate(
                    allocationID: id, clientStatus: status.clientStatus, clientDescription: status.description,
                    taskStates: status.tasks, observedAt: observed))
                if status.clientStatus.isTerminal && !wasTerminal { ended.append(id) }
            }
        }
        guard !dirty.isEmpty || !updates.isEmpty else { return }
        let sequenced = updates.map { update in
            sequence += 1
            return (sequence, update)
        }
        do {
            try await durably { [local, dirty] in try local.write([], states: dirty, buffering: sequenced) }
            // Only the recorder appends, one batch at a time: in sequence order.
            outbox += sequenced
        } catch {
            logger.error("cannot save the state of \(dirty.count) allocations: \(error)")
        }
        if !updates.isEmpty { flushes.yield() }
        for id in ended {
            finished.append(id)
            if let runner = runners.removeValue(forKey: id) { destroying[id] = Task { await runner.destroy() } }
        }
    }

    /// Collects the oldest finished allocations beyond the number kept whose
    /// final status the servers have: forgets them, deletes their state and,
    /// once their runners are done, their directories.
    private func collectFinished() async {
        let excess = finished.count - configuration.finishedAllocationsKept
        guard excess > 0 else { return }
        let unsent = Set(outbox.map(\.1.allocationID))
        var collected: [AllocationID] = []
        for id in finished where collected.count < excess && !unsent.contains(id) { collected.append(id) }
        guard !collected.isEmpty else { return }
        // Forgotten here before the write, so that nothing recorded while it
        // is under way brings them back; if it fails, their state stays on
        // disk until a restart collects them again.
        let gone = Set(collected)
        finished.removeAll { gone.contains($0) }
        for id in collected { known[id] = nil }
        let removals = collected.map { (destroying.removeValue(forKey: $0), "\(allocationsDirectory)/\($0.rawValue)") }
        do {
            try await durably { [local, collected] in try local.forget(collected) }
        } catch {
            logger.error("cannot delete the state of \(collected.count) finished allocations: \(error)")
            return
        }
        Task {
            for (destroy, _) in removals { await destroy?.value }
            // Unlinking blocks: on the blocking pool, not a loop that carries connections.
            try? await NIOThreadPool.singleton.runIfActive {
                for (_, directory) in removals { DirectoryTree.remove(atPath: directory) }
            }
        }
    }

    /// Runs `write`, a synced write of the local state, and returns what it
    /// returns: on NIO's blocking pool while the disk makes such writes wait,
    /// so that they hold up neither this actor nor the connections of the
    /// loop it runs on; here when recent ones took less than the hand-off to
    /// another thread and back costs (``SyncedWriteTimes``), as on a tmpfs.
    private func durably<T: Sendable>(_ write: @escaping @Sendable () throws -> T) async throws -> T {
        let timed = { @Sendable () throws -> (T, Duration) in
            let started = ContinuousClock.now
            let value = try write()
            return (value, ContinuousClock.now - started)
        }
        let (value, took) = writeTimes.areFast ? try timed() : try await NIOThreadPool.singleton.runIfActive(timed)
        writeTimes.record(took)
        return value
    }

    /// Sends buffered status updates, oldest first, whenever there are any,
    /// on one stream: up to ``ClientConfiguration/statusBatchesInFlight``
    /// batches at once, so that a status observed while a batch is on its
    /// way goes out without waiting for that batch to commit. Batches may
    /// commit out of order; the servers order each allocation's reports by
    /// their numbers.
    private func flushStatuses(_ connection: ClusterConnection) async throws {
        try await connection.node.streamAllocationStatus(requestProducer: { writer in
            try await self.sendStatuses(to: writer)
        }, onResponse: { response in
            for try await answer in response.messages { try await self.answered(answer.lastSequence) }
            throw ClientSessionError.statusStreamEnded
        })
    }

    private func sendStatuses(to writer: RPCWriter<Caravan_Node_V1_UpdateAllocationStatusRequest>) async throws {
        // Everything not acknowledged is sent again in a new session.
        unanswered = [:]
        var sentThrough: UInt64 = 0
        flushes.yield()
        for await _ in flushStream {
            while unanswered.count < configuration.statusBatchesInFlight {
                let batch = Array(outbox.lazy.filter { $0.0 > sentThrough }.prefix(configuration.statusBatch))
                guard let last = batch.last?.0 else { break }
                sentThrough = last
                unanswered[last] = batch.map(\.0)
                try await writer.write(statusRequest(batch))
            }
        }
    }

    /// One batch's request; within a batch only each allocation's latest status matters.
    private func statusRequest(_ batch: [(UInt64, ClientAllocationUpdate)]) -> Caravan_Node_V1_UpdateAllocationStatusRequest {
        var latest: [AllocationID: UInt64] = [:]
        for (sequence, update) in batch { latest[update.allocationID] = sequence }
        var request = Caravan_Node_V1_UpdateAllocationStatusRequest()
        request.nodeID = nodeID.rawValue
        request.statuses = batch.compactMap { sequence, update in
            latest[update.allocationID] == sequence ? Caravan_Node_V1_AllocationStatus(update, sequence: sequence) : nil
        }
        return request
    }

    /// A server has the batch whose last number is `last`: its updates are
    /// forgotten, and the next batch may go.
    private func answered(_ last: UInt64) async throws {
        guard let sequences = unanswered.removeValue(forKey: last) else { return }
        flushes.yield()
        try await durably { [local] in try local.acknowledge(through: sequences) }
        let acknowledged = Set(sequences)
        outbox.removeAll { acknowledged.contains($0.0) }
        await collectFinished()
    }

    // MARK: Logs

    /// Keeps a log relay open to every known server, so that any of them can
    /// serve this node's task logs.
    private func logRelays() async {
        await withTaskGroup(of: Void.self) { group in
            var relaying = Set<PeerAddress>()
            while !stopped && !Task.isCancelled {
                for address in servers where !relaying.contains(address) {
                    relaying.insert(address)
                    group.addTask { await self.relayLogs(to: address) }
                }
                try? await Task.sleep(for: .seconds(1))
            }
            group.cancelAll()
        }
    }

    private func relayLogs(to address: PeerAddress) async {
        let id = nodeID
        let directory = allocationsDirectory
        while !stopped && !Task.isCancelled {
            do {
                let connection = try ClusterConnection(address: address, security: configuration.security)
                defer { connection.close() }
                let (outgoing, output) = AsyncStream<Caravan_Node_V1_LogRelayMessage>.makeStream()
                try await connection.node.relayLogs(requestProducer: { writer in
                    var hello = Caravan_Node_V1_LogRelayMessage()
                    hello.nodeID = id.rawValue
                    try await writer.write(hello)
                    for await message in outgoing { try await writer.write(message) }
                }, onResponse: { response in
                    let readers = LogReaders()
                    defer { readers.cancelAll() }
                    for try await request in response.messages {
                        if request.cancel {
                            readers.cancel(request.requestID)
                            continue
                        }
                        readers.start(request.requestID, LogServing.serve(request, from: directory, to: output))
                    }
                    output.finish()
                })
            } catch {
                if stopped || Task.isCancelled { return }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

/// What the runners report, in order, until the recorder takes it.
private final class RunnerInbox: Sendable {
    private let pending = Mutex<[ClientAgent.RunnerEvent]>([])
    private let wake: AsyncStream<Void>.Continuation
    let wakeups: AsyncStream<Void>

    init() {
        (wakeups, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func put(_ event: ClientAgent.RunnerEvent) {
        pending.withLock { $0.append(event) }
        wake.yield()
    }

    func take() -> [ClientAgent.RunnerEvent] {
        pending.withLock { p in
            defer { p = [] }
            return p
        }
    }

    func finish() { wake.finish() }
}

/// The log reads a node serves, by request.
private final class LogReaders: Sendable {
    private let tasks = Mutex<[UInt64: Task<Void, Never>]>([:])
    func start(_ id: UInt64, _ work: @escaping @Sendable () async -> Void) {
        let task = Task { await work() }
        tasks.withLock { $0[id] = task }
    }
    func cancel(_ id: UInt64) { tasks.withLock { $0.removeValue(forKey: id) }?.cancel() }
    func cancelAll() { tasks.withLock { t in defer { t = [:] }; return Array(t.values) }.forEach { $0.cancel() } }
}

/// Reads a task's log for a server's request.
enum LogServing {
    static func serve(
        _ request: Caravan_Node_V1_LogRequest, from allocations: String,
        to output: AsyncStream<Caravan_Node_V1_LogRelayMessage>.Continuation
    ) -> @Sendable () async -> Void {
        {
            var message = Caravan_Node_V1_LogRelayMessage()
            message.requestID = request.requestID
            let taskDirectory = allocations + "/" + AllocationRunner.pathComponent(request.allocationID) + "/" + AllocationRunner.pathComponent(request.task)
            guard FileManager.default.fileExists(atPath: taskDirectory) else {
                message.error = "allocation \(request.allocationID) has no task \"\(request.task)\" on this node"
                output.yield(message)
                return
            }
            let stream = request.stream == "stderr" ? "stderr" : "stdout"
            let reader = LogReader(directory: taskDirectory + "/logs", name: "\(request.task).\(stream)")
            var offset: Int64 = 0
            do {
                var skip = request.fromEnd ? max(0, Int64(reader.readAll().count) - request.offset) : request.offset
                for try await chunk in reader.chunks(follow: request.follow) {
                    var bytes = chunk[...]
                    if skip > 0 {
                        let dropped = min(Int64(bytes.count), skip)
                        bytes = bytes.dropFirst(Int(dropped))
                        skip -= dropped
                        offset += dropped
                    }
                    guard !bytes.isEmpty else { continue }
                    message.data = Data(bytes)
                    message.offset = offset
                    offset += Int64(bytes.count)
                    output.yield(message)
                }
                message.data = Data()
                message.offset = offset
                message.endOfStream = true
                output.yield(message)
            } catch {
                message.error = "reading the log failed: \(error)"
                output.yield(message)
            }
        }
    }
}

extension Caravan_Node_V1_AllocationStatus {
    /// `update` as sent, numbered `sequence` (its key in the local store).
    init(_ update: ClientAllocationUpdate, sequence: UInt64) {
        self.init()
        allocationID = update.allocationID.rawValue
        clientStatus = update.clientStatus.rawValue
        clientDescription = update.clientDescription
        tasks = update.taskStates.mapValues(Caravan_Node_V1_TaskStatus.init)
        observedAtUnixNano = update.observedAt.unixNanoseconds
        self.sequence = sequence
    }
}

enum ClientSessionError: Error, CustomStringConvertible {
    case streamEnded
    case statusStreamEnded
    case mustRegister
    var description: String {
        switch self {
        case .streamEnded: "the server ended the allocation watch"
        case .statusStreamEnded: "the server ended the status stream"
        case .mustRegister: "the server no longer knows this node; registering again"
        }
    }
}

/// Why a client could not start.
public enum ClientStartError: Error, CustomStringConvertible {
    case dataDirectory(String, String)
    public var description: String {
        switch self {
        case .dataDirectory(let path, let why): "cannot use the data directory \(path): \(why)"
        }
    }
}
