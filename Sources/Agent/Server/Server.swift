import API
import Foundation
import GRPCCore
import Logging
import NIOCore
import RaftCore
import Storage
import Synchronization
import Transport

/// One Caravan server: a Raft replica of the control plane, its peers, its
/// gRPC port (Raft, public API), and on the leader the scheduler.
///
/// ```swift
/// let server = try await Server.start(configuration)
/// print(server.grpcAddress)
/// try await server.run()       // until shutdown()
/// ```
public final class Server: Sendable {
    public let configuration: ServerConfiguration
    public let plane: ControlPlane
    /// Where the gRPC port listens (its real port when 0 was asked for).
    public let grpcAddress: PeerAddress

    private let driver: RaftDriver<ServerStateMachine>
    private let stateMachine: ServerStateMachine
    private let transport: PeerTransport
    private let endpoint: ServerEndpoint
    private let endpointTask: Task<Void, any Error>
    private let raftListener: RaftListener
    private let router: LeaderRouter
    private let leaderScheduler: LeaderScheduler
    private let heartbeats: HeartbeatMonitor
    private let watches = AllocationWatchHub()
    private let logRelays = LogRelayHub()
    /// The event stream's hub.
    public let events = EventBroker()
    private let store: RocksDBStore?
    private let logger: Logger
    private let stopped = Mutex(false)
    private let shutdownWork = Mutex<Task<Void, Never>?>(nil)
    private let names: [UInt64: String]
    private let staticAddresses: [UInt64: PeerAddress]
    /// Addresses learned when joining, before the log (which holds them) is replicated here.
    private let learnedAddresses = LearnedAddresses()

    /// Opens the state, binds the port and starts serving; returns once listening.
    /// - Throws: ``ServerStartError`` naming what is wrong (data directory, port, peers).
    public static func start(_ configuration: ServerConfiguration, logger: Logger = Logger(label: "caravan.server")) async throws -> Server {
        let raftLoop = RaftDriverThreads.next()
        let inbox = RaftInbox()
        let raftListener: RaftListener
        do {
            raftListener = try await RaftListener(
                host: configuration.bindHost, port: configuration.raftPort, security: configuration.security,
                authorizer: .requiring([.server], under: configuration.security), group: raftLoop
            ) { inbox.deliver($0) }
        } catch {
            throw ServerStartError.cannotListen("\(configuration.bindHost):\(configuration.raftPort) (the Raft port)", "\(error)")
        }
        let server: Server
        do {
            server = try Server(configuration: configuration, logger: logger, raftLoop: raftLoop, raftListener: raftListener, inbox: inbox)
        } catch {
            raftListener.close()
            throw error
        }
        try await server.awaitListening()
        return server
    }

    private init(configuration: ServerConfiguration, logger: Logger, raftLoop: any EventLoop, raftListener: RaftListener, inbox: RaftInbox) throws {
        self.configuration = configuration
        self.logger = logger
        let id = configuration.nodeID

        var names: [UInt64: String] = [id: configuration.name]
        var addresses: [UInt64: PeerAddress] = [:]
        for (name, address) in configuration.peers {
            names[ServerConfiguration.nodeID(forName: name)] = name
            addresses[ServerConfiguration.nodeID(forName: name)] = address
        }
        self.names = names

        let persistence: any RaftPersistence
        if let directory = configuration.dataDirectory {
            do {
                let store = try RocksDBStore(path: directory)
                self.store = store
                persistence = store.raft
            } catch {
                throw ServerStartError.dataDirectory(directory, "\(error)")
            }
        } else {
            store = nil
            persistence = InMemoryRaftStorage()
        }
        if configuration.join.isEmpty {
            var voters = Set(addresses.keys)
            voters.insert(id)
            do {
                if try persistence.bootstrapIfPristine(voters: voters.sorted()) {
                    logger.info("bootstrapped a new cluster of \(voters.count) servers")
                }
            } catch {
                throw ServerStartError.dataDirectory(configuration.dataDirectory ?? "memory", "\(error)")
            }
        }

        let box = ChangeRouter()
        let stateMachine = ServerStateMachine { changes in box.forward(changes) }
        self.stateMachine = stateMachine

        var transportConfiguration = PeerTransport.Configuration(localID: id)
        transportConfiguration.eventLoop = raftLoop
        transportConfiguration.backoff = Backoff(initial: .milliseconds(50), maximum: .seconds(2))
        let transport = PeerTransport(configuration: transportConfiguration, security: configuration.security)
        self.transport = transport

        var raftConfig = RaftConfig(id: id, seed: UInt64.random(in: 1 ... .max))
        raftConfig.electionTick = 10
        raftConfig.heartbeatTick = 1
        let driver = try RaftDriver(
            config: raftConfig, persistence: persistence, sender: PeerSender(transport: transport),
            stateMachine: stateMachine, snapshotEvery: configuration.snapshotEvery,
            snapshotBytes: configuration.snapshotBytes, loop: raftLoop)
        self.driver = driver
        plane = ControlPlane(driver: driver, stateMachine: stateMachine)

        let leaderScheduler = LeaderScheduler(driver: driver, stateMachine: stateMachine, workers: configuration.schedulerWorkers, logger: logger)
        self.leaderScheduler = leaderScheduler

        var advertised = addresses
        let advertise = configuration.advertise ?? PeerAddress(host: configuration.bindHost, port: configuration.grpcPort)
        advertised[id] = advertise
        staticAddresses = advertised
        let known = advertised
        let learned = learnedAddresses
        let directoryAddresses: @Sendable (UInt64) -> PeerAddress? = { [stateMachine] member in
            if let address = known[member] ?? learned.all[member] { return address }
            return stateMachine.snapshotOfState.members[member].flatMap { PeerAddress($0.address) }
        }
        router = LeaderRouter(security: configuration.security, addresses: directoryAddresses)
        let directory = MemberDirectory(
            localID: id, localName: configuration.name, region: configuration.region,
            address: directoryAddresses,
            name: { [names, stateMachine] in names[$0] ?? stateMachine.snapshotOfState.members[$0]?.name ?? "server-\($0)" })

        let heartbeats = HeartbeatMonitor(plane: plane, minimumTTL: configuration.heartbeatTTL, logger: logger)
        self.heartbeats = heartbeats
        let security = configuration.security
        let memberAddresses: @Sendable () -> [String] = { [stateMachine, known] in
            var all = Set(known.values.map(\.description))
            for m in stateMachine.snapshotOfState.members.values { all.insert(m.address) }
            return all.sorted()
        }
        let services: [any RegistrableRPCService] = [
            RaftService(authorizer: .requiring([.server], under: security), raftPort: raftListener.port),
            JobsHandler(plane: plane, router: router, maxSpecBytes: configuration.maxSpecBytes),
            ClusterHandler(plane: plane, members: directory),
            OperatorHandler(plane: plane, router: router, members: directory, authorizer: .requiring([.cli, .server], under: security)),
            EvaluationsHandler(plane: plane, router: router),
            EventsHandler(events: events),
            AllocationsHandler(plane: plane, router: router),
            NodesHandler(plane: plane, router: router),
            LogsHandler(plane: plane, relays: logRelays),
            NodeServiceHandler(
                plane: plane, router: router, monitor: heartbeats, watches: watches, logs: logRelays,
                authorizer: .requiring([.client, .server], under: security), servers: memberAddresses),
        ]
        self.raftListener = raftListener
        inbox.connect(driver)
        endpoint = ServerEndpoint(host: configuration.bindHost, port: configuration.grpcPort, security: security, services: services)
        let endpoint = self.endpoint
        endpointTask = Task { try await endpoint.run() }
        grpcAddress = advertise
        events.start(at: stateMachine.snapshotOfState.appliedIndex)
        box.set(leaderScheduler, events: events, watches: watches) { [weak self] in self?.syncPeers() }
    }

    private func awaitListening() async throws {
        do {
            let port = try await endpoint.listeningPort
            if configuration.grpcPort == 0 {
                // Advertise the port the system picked.
                logger.info("listening on \(configuration.bindHost):\(port)")
            }
            _ = port
        } catch {
            endpointTask.cancel()
            raftListener.close()
            store?.close()
            throw ServerStartError.cannotListen("\(configuration.bindHost):\(configuration.grpcPort)", "\(error)")
        }
    }

    /// Runs the server until ``shutdown()``: Raft's clock, peer connections,
    /// scheduling while leader, and joining an existing cluster when asked.
    public func run() async throws {
        syncPeers()
        let joining = configuration.join.isEmpty ? nil : Task { await self.joinCluster() }
        defer { joining?.cancel() }
        // Every task runs until shutdown; the first to end (the endpoint, on
        // shutdown or a failure to serve) ends the others.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.transport.run() }
            group.addTask { await self.tick() }
            group.addTask { await self.followLeadership() }
            group.addTask { _ = try? await self.endpointTask.value }
            if let httpPort = configuration.httpPort {
                let http = HTTPEndpoint(plane: plane, host: configuration.bindHost, port: httpPort, logger: logger)
                group.addTask {
                    do {
                        try await http.run()
                    } catch {
                        self.logger.error("the HTTP port \(httpPort) stopped: \(error)")
                    }
                    // Serve the gRPC port on even when HTTP failed: wait for shutdown.
                    _ = try? await self.endpointTask.value
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private var isStopped: Bool { stopped.withLock { $0 } }

    private func tick() async {
        var ticks = 0
        while !isStopped && !Task.isCancelled {
            try? await Task.sleep(for: configuration.tickInterval)
            await driver.tick()
            ticks += 1
            if ticks % 10 == 0 { syncPeers() }
        }
    }

    /// Keeps one peer connection per other member of the Raft configuration.
    private func syncPeers() {
        Task {
            let status = await driver.status
            let learned = learnedAddresses.all
            let described = stateMachine.snapshotOfState.members
            // Until the membership is replicated here (a joining server),
            // also talk to the servers learned when joining.
            var members = Set(status.voters + status.learners)
            if described.isEmpty { members.formUnion(learned.keys) }
            for member in members.subtracting([status.id]) {
                guard let address = staticAddresses[member] ?? learned[member] ?? described[member].flatMap({ PeerAddress($0.address) }) else { continue }
                transport.setPeer(member, address: address)
            }
            for (peer, _) in transport.peers where !members.contains(peer) {
                transport.removePeer(peer)
            }
        }
    }

    private func followLeadership() async {
        var seen = 0
        while let (leadership, version) = await driver.leadership(after: seen) {
            seen = version
            if leadership.role == .leader {
                logger.info("leading in term \(leadership.term)")
                await leaderScheduler.becameLeader()
                await heartbeats.becameLeader()
                await describeBootstrapMembers()
            } else {
                await leaderScheduler.lostLeadership()
                await heartbeats.lostLeadership()
            }
        }
    }

    /// Writes the names and addresses of members this server knows from its
    /// configuration and the replicated state lacks (the bootstrap members),
    /// so that servers that join later can reach them.
    private func describeBootstrapMembers() async {
        let status = await driver.status
        let described = stateMachine.snapshotOfState.members
        let missing = (status.voters + status.learners).compactMap { id -> MemberDescription? in
            guard described[id] == nil, let address = staticAddresses[id], let name = names[id] else { return nil }
            return MemberDescription(id: id, name: name, address: address.description)
        }
        guard !missing.isEmpty else { return }
        do {
            _ = try await driver.propose(.describeMembers(missing))
        } catch {
            logger.warning("could not record the members' addresses: \(error)")
        }
    }

    /// Asks the servers in `join` to add this one until one of them does.
    private func joinCluster() async {
        let id = configuration.nodeID
        var request = Caravan_Api_V1_AddRaftPeerRequest()
        request.id = id
        request.address = grpcAddress.description
        request.name = configuration.name
        var attempt = 0
        while !isStopped && !Task.isCancelled {
            if await driver.status.voters.contains(id) { return }
            let target = configuration.join[attempt % configuration.join.count]
            attempt += 1
            do {
                let connection = try ClusterConnection(address: target, security: configuration.security)
                defer { connection.close() }
                // Learn the members first: this server must answer the leader's
                // appends before their log tells it where the others are.
                let members = try await connection.cluster.members(Caravan_Api_V1_ListMembersRequest())
                for m in members.members where m.id != id {
                    if let address = PeerAddress(m.address) { learnedAddresses.set(m.id, address) }
                }
                syncPeers()
                _ = try await connection.operatorControls.addRaftPeer(request)
                logger.info("joined the cluster through \(target)")
                return
            } catch {
                logger.warning("joining through \(target) failed: \(error); retrying")
                try? await Task.sleep(for: .milliseconds(min(2000, 100 * attempt)))
            }
        }
    }

    /// Stops gracefully: hands leadership to another voter when leading,
    /// stops accepting calls, lets those in flight finish, then stops Raft.
    ///
    /// Every caller returns only when the shutdown has finished (the store
    /// closed), whoever started it: a process must not exit while it runs.
    public func shutdown() async {
        let work = shutdownWork.withLock { work in
            if let work { return work }
            let started = Task { await self.stopEverything() }
            work = started
            return started
        }
        await work.value
    }

    private func stopEverything() async {
        stopped.withLock { $0 = true }
        let status = await driver.status
        if status.role == .leader, status.voters.count > 1 {
            let seen = await driver.leadership(after: -1)?.version ?? 0
            if (try? await driver.transferLeadership(to: nil)) != nil {
                let deadline = ContinuousClock.now + .seconds(2)
                let tick = Task { while !Task.isCancelled { try? await Task.sleep(for: configuration.tickInterval); await driver.tick() } }
                // Wait for another server to lead, until the deadline at most:
                // with no voter left to take over (the others stopping too), a
                // transfer that gives up leaves this one leading, and the
                // leadership never changes again.
                let handedOver = ShutdownFlag()
                Task { [driver, seen] in
                    var last = seen
                    while let (l, v) = await driver.leadership(after: last) {
                        last = v
                        if l.role != .leader { break }
                    }
                    handedOver.set()
                }
                await Self.wait(until: deadline) { !handedOver.isSet }
                tick.cancel()
            }
        }
        // Stop taking calls. Writes and reads in flight get a second to
        // finish while the peers are still reachable; then the ones still
        // waiting (for a commit that cannot come when the others stop too)
        // fail, so their calls end. The long-lived streams end with the
        // transport (peers' Raft streams never finish by themselves).
        await heartbeats.lostLeadership()
        watches.finishAll()
        endpoint.shutdown()
        await Self.wait(until: .now + .seconds(1)) { await self.driver.hasWaiters }
        transport.shutdown()
        raftListener.close()
        await driver.stop()
        router.close()
        let endpointTask = self.endpointTask
        let grace = Task {
            try? await Task.sleep(for: .seconds(1))
            endpointTask.cancel()
        }
        _ = try? await endpointTask.value
        grace.cancel()
        await leaderScheduler.stop()
        store?.close()
    }

    /// Checks `condition` every 10 ms while it holds, until `deadline` at most.
    private static func wait(until deadline: ContinuousClock.Instant, while condition: () async -> Bool) async {
        while ContinuousClock.now < deadline, await condition() {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// Why a server could not start.
public enum ServerStartError: Error, CustomStringConvertible {
    case dataDirectory(String, String)
    case cannotListen(String, String)

    public var description: String {
        switch self {
        case .dataDirectory(let path, let why): "cannot use the data directory \(path): \(why)"
        case .cannotListen(let address, let why): "cannot listen on \(address): \(why)"
        }
    }
}

/// Hands batches from the Raft listener to the driver, on the driver's loop
/// (the listener's), once there is a driver.
final class RaftInbox: Sendable {
    private let driver = Mutex<RaftDriver<ServerStateMachine>?>(nil)

    func connect(_ driver: RaftDriver<ServerStateMachine>) {
        self.driver.withLock { $0 = driver }
    }

    func deliver(_ messages: [Message]) {
        guard let driver = driver.withLock({ $0 }) else { return }
        driver.assumeIsolated { $0.receive(messages) }
    }
}

/// Hands Raft's messages to the peer transport (never blocks; drops when full).
struct PeerSender: RaftMessageSender {
    let transport: PeerTransport
    func send(_ messages: [Message]) { transport.send(messages) }
}

/// Hands the state machine's changes (it is created first) to the scheduler
/// and the peer connections.
final class ChangeRouter: Sendable {
    private let targets = Mutex<(LeaderScheduler, EventBroker, AllocationWatchHub, @Sendable () -> Void)?>(nil)

    func set(_ scheduler: LeaderScheduler, events: EventBroker, watches: AllocationWatchHub, membersChanged: @escaping @Sendable () -> Void) {
        targets.withLock { $0 = (scheduler, events, watches, membersChanged) }
    }

    func forward(_ changes: ServerState.Changes) {
        guard let (scheduler, events, watches, membersChanged) = targets.withLock({ $0 }) else { return }
        events.publish(index: changes.index, events: changes.events)
        if changes.stateReplaced { watches.notifyEverything() }
        if !changes.allocationsFinished.isEmpty { watches.notify(changes.allocationsFinished, wake: false) }
        if !changes.assignmentsChanged.isEmpty { watches.notify(changes.assignmentsChanged) }
        if changes.membersChanged { membersChanged() }
        if scheduler.isLeading && (!changes.pendingEvaluations.isEmpty || changes.capacityChanged) {
            Task { await scheduler.stateChanged(changes) }
        }
    }
}

/// Addresses a joining server learned from the server it joined through.
final class LearnedAddresses: Sendable {
    private let addresses = Mutex<[UInt64: PeerAddress]>([:])
    var all: [UInt64: PeerAddress] { addresses.withLock { $0 } }
    func set(_ id: UInt64, _ address: PeerAddress) { addresses.withLock { $0[id] = address } }
}

/// Set once by one task, read by another (the waiter ends when the driver stops).
private final class ShutdownFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
