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
        subcommands: [ServerCommand.self, DevCommand.self]
    )
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
    @Option(help: "The gRPC port: Raft, the public API and the node API.")
    var grpcPort = 7647
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
    @Option(help: "Snapshot the state and compact the log after this many applied entries.")
    var snapshotEvery: UInt64 = 10_000

    func run() async throws {
        common.bootstrapLogging()
        guard snapshotEvery > 0 else { throw ValidationError("--snapshot-every must be greater than 0") }
        var configuration = ServerConfiguration(name: name)
        configuration.snapshotEvery = snapshotEvery
        configuration.region = common.region
        configuration.bindHost = bind
        configuration.grpcPort = grpcPort
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
        try await runServer(configuration)
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

/// `caravand dev`: a one-process cluster on loopback.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run a one-process development cluster on 127.0.0.1 (in memory unless --data-dir)."
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "The gRPC port.")
    var grpcPort = 7647
    @Option(help: "The HTTP port (0: none).")
    var httpPort = 7646
    @Option(help: "Keep state in this directory instead of in memory.")
    var dataDir: String?

    func run() async throws {
        common.bootstrapLogging()
        var configuration = ServerConfiguration(name: "dev")
        configuration.bindHost = "127.0.0.1"
        configuration.grpcPort = grpcPort
        configuration.httpPort = httpPort == 0 ? nil : httpPort
        configuration.dataDirectory = dataDir
        configuration.security = try common.security()
        try await runServer(configuration)
    }
}

/// Starts the server, prints where it listens, and runs it until SIGTERM or SIGINT.
func runServer(_ configuration: ServerConfiguration) async throws {
    let logger = Logger(label: "caravan.server")
    let server: Server
    do {
        server = try await Server.start(configuration, logger: logger)
    } catch let error as ServerStartError {
        throw ValidationError(error.description)
    }
    // A line tools can wait for; written unbuffered so a pipe sees it at once.
    FileHandle.standardOutput.write(Data("caravand: server \(configuration.name) (raft id \(configuration.nodeID)) listening on \(server.grpcAddress) (gRPC)\(configuration.httpPort.map { ", \(configuration.bindHost):\($0) (HTTP)" } ?? "")\n".utf8))
    let group = ServiceGroup(
        services: [ServerService(server: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
}
