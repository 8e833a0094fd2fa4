import ArgumentParser
import Foundation
import Transport

/// `caravan tls`: a cluster CA and the certificates it issues.
struct TLSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls",
        abstract: "Create a cluster certificate authority and the certificates for mutual TLS.",
        subcommands: [CA.self, Cert.self]
    )

    struct CA: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ca", abstract: "Manage the cluster CA.", subcommands: [Create.self]
        )

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create a CA: \(CertificateFiles.caCertificateName) and \(CertificateFiles.caKeyName) (mode 0600)."
            )

            @Option(help: "Days the CA is valid.")
            var days = 1825

            @Option(name: .customLong("common-name"), help: "The CA's subject common name.")
            var commonName = "Caravan Agent CA"

            @Option(name: .customLong("dir"), help: "Directory to write the files into.")
            var directory = "."

            func run() throws {
                let authority = try CertificateAuthority.create(commonName: commonName, validityDays: days)
                let written = try CertificateFiles.write(authority, into: directory)
                print("==> CA certificate saved to: \(written.certificatePath)")
                print("==> CA key saved to: \(written.keyPath)")
            }
        }
    }

    struct Cert: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cert", abstract: "Issue certificates signed by the cluster CA.", subcommands: [Create.self]
        )

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Issue a server, client or CLI certificate: <region>-<role>-caravan.pem and its key (mode 0600)."
            )

            @Flag(help: "The role the certificate carries in its name (<role>.<region>.caravan).")
            var role: RoleFlag

            @Option(help: "The region named in the certificate.")
            var region = "global"

            @Option(help: "The CA certificate.")
            var ca = CertificateFiles.caCertificateName

            @Option(help: "The CA key.")
            var key = CertificateFiles.caKeyName

            @Option(name: .customLong("additional-dnsname"), help: "Another DNS name for the certificate (repeatable).")
            var additionalDNSNames: [String] = []

            @Option(name: .customLong("additional-ipaddress"), help: "Another IP address for a server certificate (repeatable).")
            var additionalIPAddresses: [String] = []

            @Option(help: "Days the certificate is valid.")
            var days = 365

            @Option(name: .customLong("dir"), help: "Directory to write the files into.")
            var directory = "."

            func run() throws {
                let authority = try CertificateAuthority.load(certificatePath: ca, keyPath: key)
                let issued = try authority.issue(
                    role: role.role, region: region, additionalDNSNames: additionalDNSNames,
                    additionalIPAddresses: additionalIPAddresses, validityDays: days
                )
                let written = try CertificateFiles.write(issued, into: directory)
                print("==> Using CA certificate \(ca) and key \(key)")
                print("==> \(role.role) certificate for \(role.role.dnsName(region: region)) saved to: \(written.certificatePath)")
                print("==> \(role.role) key saved to: \(written.keyPath)")
            }
        }
    }
}

/// `--server`, `--client` or `--cli`.
enum RoleFlag: String, EnumerableFlag {
    case server, client, cli

    var role: PeerRole {
        switch self {
        case .server: .server
        case .client: .client
        case .cli: .cli
        }
    }

    static func help(for value: RoleFlag) -> ArgumentHelp? {
        switch value {
        case .server: "A server certificate: may join the Raft group and serve every API."
        case .client: "A client (worker node) certificate: may use the node API."
        case .cli: "A CLI certificate: may use the public API."
        }
    }
}
