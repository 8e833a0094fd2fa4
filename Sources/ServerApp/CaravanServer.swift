import Agent
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Transport

/// `caravand`: the agent executable.
@main
struct CaravanServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caravand",
        abstract: "The Caravan agent: server, client or dev mode.",
        subcommands: [ServerCommand.self, ClientCommand.self, DevCommand.self]
    )

    /// Runs the command with Swift's tasks on the event loops (see ``SwiftTasksOnEventLoops``).
    static func main() async {
        SwiftTasksOnEventLoops.install()
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every role shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "The cluster CA certificate (PEM); with --tls-cert and --tls-key, turns on mutual TLS.")
    var tlsCA: String?
    @Option(help: "This agent's certificate (PEM), from `caravan tls cert create`.")
    var tlsCert: String?
    @Option(help: "This agent's private key (PEM).")
    var tlsKey: String?
    @Option(help: "The region the certificates name (server.<region>.caravan).")
    var region = "global"

    func security() throws -> TransportSecurityConfiguration {
        switch (tlsCA, tlsCert, tlsKey) {
        case (nil, nil, nil):
            return .plaintext(region: region)
        case let (ca?, cert?, key?):
            return try TransportSecurityConfiguration.mutualTLS(TLSFiles(caPath: ca, certificatePath: cert, keyPath: key), region: region)
        default:
            throw ValidationError("--tls-ca, --tls-cert and --tls-key go together: give all three, or none for plaintext")
        }
    }

    func bootstrapLogging() {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `caravand server`: one server of a cluster.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run a server: a Raft replica of the control plane.",
        discussion: """
            A new cluster: start each server with the same --peers list, which names every server \
            of the cluster (this one included) as NAME=HOST:PORT. An existing cluster: start the new \
            server with --join HOST:PORT (any server of the cluster); it asks to be added.
            """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "This server's name (unique in the cluster; its Raft id derives from it).")
    var name: String
    @Option(help: "The address to bind.")
    var bind = "127.0.0.1"
    @Option(help: "The gRPC port: the public API, the node API, and where peers ask for the Raft port.")
    var grpcPort = 7647
    @Option(help: "The Raft port: replication between servers (0: any free port, which peers learn through the gRPC port).")
    var raftPort = 0
    @Option(help: "The HTTP port: /health/live, /health/ready (0: no HTTP port).")
    var httpPort = 7646
    @Option(help: "The HOST:PORT others reach this server at (default: --bind and --grpc-port).")
    var advertise: String?
    @Option(help: "Every server of a new cluster, as NAME=HOST:PORT,NAME=HOST:PORT,…")
    var peers: String?
    @Option(help: "A server of an existing cluster to join (repeatable).")
    var join: [String] = []
    @Option(help: "Where to keep the Raft log and snapshots (RocksDB); without it, state is in memory only.")
    var dataDir: String?
    @Option(help: "Snapshot the state and compact the log after this many applied entries…")
    var snapshotEvery = ServerConfiguration.defaultSnapshotEvery
    @Option(help: "…or this many MiB of them; never before the log has grown as large as the last snapshot.")
    var snapshotMib = ServerConfiguration.defaultSnapshotBytes >> 20
    @Option(help: "The shortest heartbeat TTL client nodes get, in milliseconds; a node silent longer is marked down.")
    var heartbeatTtlMs = 10_000

    func run() async throws {
        common.bootstrapLogging()
        guard snapshotEvery > 0 else { throw ValidationError("--snapshot-every must be greater than 0") }
        var configuration = ServerConfiguration(name: name)
        configuration.snapshotEvery = snapshotEvery
        guard snapshotMib > 0 else { throw ValidationError("--snapshot-mib must be greater than 0") }
        configuration.snapshotBytes = snapshotMib << 20
        guard heartbeatTtlMs > 0 else { throw ValidationError("--heartbeat-ttl-ms must be greater than 0") }
        configuration.heartbeatTTL = .milliseconds(heartbeatTtlMs)
        configuration.region = common.region
        configuration.bindHost = bind
        configuration.grpcPort = grpcPort
        guard (0...65_535).contains(raftPort) else { throw ValidationError("--raft-port \(raftPort): not a port") }
        configuration.raftPort = raftPort
        configuration.httpPort = httpPort == 0 ? nil : httpPort
        configuration.security = try common.security()
        configuration.dataDirectory = dataDir
        if let advertise {
            guard let address = PeerAddress(advertise) else { throw ValidationError("--advertise \(advertise): not HOST:PORT") }
            configuration.advertise = address
        }
        if let peers {
            configuration.peers = try Self.parsePeers(peers)
            if let own = configuration.peers[name], own.port != grpcPort {
                throw ValidationError("--peers gives \(name) the port \(own.port), but --grpc-port is \(grpcPort)")
            }
        }
        configuration.join = try join.map { text in
            guard let address = PeerAddress(text) else { throw ValidationError("--join \(text): not HOST:PORT") }
            return address
        }
        if !configuration.join.isEmpty && !configuration.peers.isEmpty {
            throw ValidationError("--peers starts a new cluster and --join joins an existing one: give one of them")
        }
        try await runAgent(server: configuration, client: nil)
    }

    static func parsePeers(_ text: String) throws -> [String: PeerAddress] {
        var peers: [String: PeerAddress] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let address = PeerAddress(String(parts[1])) else {
                throw ValidationError("--peers: \"\(item)\" is not NAME=HOST:PORT")
            }
            guard peers.updateValue(address, forKey: String(parts[0])) == nil else {
                throw ValidationError("--peers: \(parts[0]) is named twice")
            }
        }
        return peers
    }
}

/// `caravand client`: a worker node.
struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Run a client: a worker node that runs allocations.",
        discussion: """
            The client registers with the servers in --servers (it learns the others from them), \
            runs what they place on it, and keeps running it while cut off from them. Restarted on \
            the same --data-dir, it reattaches to the tasks still running.
            """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var node: NodeOptions
    @Option(help: "Servers to register with, as HOST:PORT,HOST:PORT,…")
    var servers: String

    func run() async throws {
        common.bootstrapLogging()
        let addresses = try servers.split(separator: ",").map { text in
            guard let address = PeerAddress(String(text)) else { throw ValidationError("--servers: \"\(text)\" is not HOST:PORT") }
            return address
        }
        guard !addresses.isEmpty else { throw ValidationError("--servers: name at least one server") }
        var configuration = try node.configuration(servers: addresses)
        configuration.security = try common.security()
        try await runAgent(server: nil, client: configuration)
    }
}

/// What describes a client node, for `client` and `dev`.
struct NodeOptions: ParsableArguments {
    @Option(help: "The node's name (default: the host name).")
    var nodeName: String?
    @Option(help: "Where the node keeps its state and its allocations' directories (default: a temporary directory, state in memory).")
    var clientDataDir: String?
    @Option(help: "The node's datacenter.")
    var datacenter = "dc1"
    @Option(help: "The node's class, for constraints.")
    var nodeClass = ""
    @Option(help: "Operator metadata KEY=VALUE (repeatable).")
    var meta: [String] = []
    @Option(help: "A data set this node holds, NAME=DIRECTORY (repeatable): jobs that name it as an input are placed here.")
    var dataset: [String] = []
    @Option(help: "The Docker engine's socket, for the docker driver.")
    var dockerSocket: String?
    @Option(help: "Finished allocations kept (state, logs, outputs) before the oldest are collected.")
    var gcMaxAllocs = 50

    func configuration(servers: [PeerAddress]) throws -> ClientConfiguration {
        guard gcMaxAllocs >= 0 else { throw ValidationError("--gc-max-allocs must be 0 or more, not \(gcMaxAllocs)") }
        var c = ClientConfiguration(name: nodeName ?? ProcessInfo.processInfo.hostName, servers: servers)
        c.finishedAllocationsKept = gcMaxAllocs
        c.dataDirectory = clientDataDir
        c.datacenter = datacenter
        c.nodeClass = nodeClass
        c.meta = try Self.pairs(meta, "--meta")
        c.datasets = try Self.pairs(dataset, "--dataset").mapValues { path in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--dataset: \(path) is not a directory")
            }
            return URL(fileURLWithPath: path).standardizedFileURL.path
        }
        c.dockerSocket = dockerSocket
        return c
    }

    static func pairs(_ items: [String], _ option: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("\(option) \(item): not NAME=VALUE") }
            result[String(parts[0])] = String(parts[1])
        }
        return result
    }
}

/// `caravand dev`: a one-process cluster on loopback.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run a one-process development cluster on 127.0.0.1: a server and a client (in memory unless --data-dir)."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var node: NodeOptions
    @Option(help: "The gRPC port.")
    var grpcPort = 7647
    @Option(help: "The HTTP port (0: none).")
    var httpPort = 7646
    @Option(help: "Keep the server's state in this directory instead of in memory.")
    var dataDir: String?

    func run() async throws {
        common.bootstrapLogging()
        var configuration = ServerConfiguration(name: "dev")
        configuration.bindHost = "127.0.0.1"
        configuration.grpcPort = grpcPort
        configuration.httpPort = httpPort == 0 ? nil : httpPort
        configuration.dataDirectory = dataDir
        configuration.security = try common.security()
        var client = try node.configuration(servers: [PeerAddress(host: "127.0.0.1", port: grpcPort)])
        if node.nodeName == nil { client.name = "dev" }
        client.security = configuration.security
        try await runAgent(server: configuration, client: client)
    }
}

/// Starts the server and/or the client, prints where they are, and runs
/// them until SIGTERM or SIGINT.
func runAgent(server serverConfiguration: ServerConfiguration?, client clientConfiguration: ClientConfiguration?) async throws {
    let logger = Logger(label: "caravand")
    var services: [any Service] = []
    // Lines tools can wait for; written unbuffered so a pipe sees them at once.
    if let configuration = serverConfiguration {
        let server: Server
        do {
            server = try await Server.start(configuration, logger: Logger(label: "caravan.server"))
        } catch let error as ServerStartError {
            throw ValidationError(error.description)
        }
        FileHandle.standardOutput.write(Data("caravand: server \(configuration.name) (raft id \(configuration.nodeID)) listening on \(server.grpcAddress) (gRPC)\(configuration.httpPort.map { ", \(configuration.bindHost):\($0) (HTTP)" } ?? "")\n".utf8))
        services.append(ServerService(server: server))
    }
    if let configuration = clientConfiguration {
        let client: ClientAgent
        do {
            client = try await ClientAgent.start(configuration, logger: Logger(label: "caravan.client"))
        } catch let error as ClientStartError {
            throw ValidationError(error.description)
        }
        FileHandle.standardOutput.write(Data("caravand: client \(configuration.name) node \(client.nodeID) allocations in \(client.allocationsDirectory)\n".utf8))
        services.append(ClientService(client: client))
    }
    let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
}
