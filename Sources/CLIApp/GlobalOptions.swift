import API
import ArgumentParser
import Foundation
import Transport

/// Options every command that talks to a cluster accepts. Each falls back to
/// an environment variable, then to a default.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .customLong("address"),
        help: ArgumentHelp("A server's gRPC address (default: $CARAVAN_ADDR, else 127.0.0.1:7647).", valueName: "host:port"))
    var address: String?

    @Option(name: .customLong("ca-cert"), help: ArgumentHelp("The cluster CA certificate (PEM) that signed the server's certificate (default: $CARAVAN_CACERT).", valueName: "path"))
    var caCert: String?

    @Option(name: .customLong("client-cert"), help: ArgumentHelp("This CLI's certificate (PEM), from `caravan tls cert create --cli` (default: $CARAVAN_CLIENT_CERT).", valueName: "path"))
    var clientCert: String?

    @Option(name: .customLong("client-key"), help: ArgumentHelp("This CLI's private key (PEM) (default: $CARAVAN_CLIENT_KEY).", valueName: "path"))
    var clientKey: String?

    @Option(help: ArgumentHelp("The region the server's certificate names (default: $CARAVAN_REGION, else global).", valueName: "region"))
    var region: String?

    @Option(help: ArgumentHelp("The namespace of jobs (default: $CARAVAN_NAMESPACE, else default; `*` lists all).", valueName: "namespace"))
    var namespace: String?

    @Flag(help: "Print machine-readable JSON instead of tables.")
    var json = false

    private var environment: [String: String] { ProcessInfo.processInfo.environment }

    private func setting(_ value: String?, _ variable: String) -> String? {
        if let value, !value.isEmpty { return value }
        if let value = environment[variable], !value.isEmpty { return value }
        return nil
    }

    /// The server address: --address, else CARAVAN_ADDR, else 127.0.0.1:7647.
    func resolvedAddress() throws -> PeerAddress {
        let text = setting(address, "CARAVAN_ADDR") ?? "127.0.0.1:\(PeerAddress.defaultClusterPort)"
        guard let parsed = PeerAddress(clusterAddress: text) else {
            let source = address != nil ? "--address" : "CARAVAN_ADDR"
            throw CLIError("\(source) \"\(text)\" is not an address: write host:port, such as 127.0.0.1:7647")
        }
        return parsed
    }

    var resolvedNamespace: String { setting(namespace, "CARAVAN_NAMESPACE") ?? "default" }

    /// Plaintext, or mutual TLS when the three files are given.
    func security() throws -> TransportSecurityConfiguration {
        let region = setting(self.region, "CARAVAN_REGION") ?? "global"
        let ca = setting(caCert, "CARAVAN_CACERT")
        let cert = setting(clientCert, "CARAVAN_CLIENT_CERT")
        let key = setting(clientKey, "CARAVAN_CLIENT_KEY")
        switch (ca, cert, key) {
        case (nil, nil, nil):
            return .plaintext(region: region)
        case let (ca?, cert?, key?):
            do {
                return try TransportSecurityConfiguration.mutualTLS(TLSFiles(caPath: ca, certificatePath: cert, keyPath: key), region: region)
            } catch {
                throw CLIError("TLS: \(error)")
            }
        default:
            let missing = [("--ca-cert (CARAVAN_CACERT)", ca), ("--client-cert (CARAVAN_CLIENT_CERT)", cert), ("--client-key (CARAVAN_CLIENT_KEY)", key)]
                .filter { $0.1 == nil }.map(\.0)
            throw CLIError("mutual TLS needs a CA certificate, a client certificate and its key; missing: \(missing.joined(separator: ", "))")
        }
    }

    /// A connection to the cluster, and the settings every command reads.
    func context() throws -> CLIContext {
        let address = try resolvedAddress()
        let security = try security()
        let connection: ClusterConnection
        do {
            connection = try ClusterConnection(address: address, security: security)
        } catch {
            throw CLIError("cannot set up a connection to \(address): \(error)")
        }
        return CLIContext(connection: connection, json: json, namespace: resolvedNamespace, tls: security.isTLS)
    }
}

/// What a command works with: the connection and the output settings.
struct CLIContext: Sendable {
    let connection: ClusterConnection
    /// `--json`: machine-readable output only.
    let json: Bool
    let namespace: String
    let tls: Bool

    var address: PeerAddress { connection.address }
    var reader: ClusterReader { ClusterReader(connection: connection) }
}
