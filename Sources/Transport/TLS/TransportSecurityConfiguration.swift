import Foundation
import GRPCNIOTransportHTTP2
import NIOCore
import NIOSSL
import X509

/// Where a node's TLS material lives: the cluster CA's certificate, and this
/// node's certificate and private key (PEM files, as `caravan tls` writes them).
public struct TLSFiles: Sendable, Hashable {
    public var caPath: String
    public var certificatePath: String
    public var keyPath: String

    public init(caPath: String, certificatePath: String, keyPath: String) {
        self.caPath = caPath
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}

/// How every Caravan port is secured: plaintext (development only), or mutual
/// TLS where each side must present a certificate signed by the cluster CA.
///
/// Created once from files with ``mutualTLS(_:region:)``, which reads and checks
/// them, so that a missing or mismatched file is reported at start-up rather
/// than as a failed handshake later.
public struct TransportSecurityConfiguration: Sendable {
    struct Material: Sendable {
        var caPEM: [UInt8]
        var certificatePEM: [UInt8]
        var keyPEM: [UInt8]
        /// This node's own leaf certificate.
        var certificate: Certificate
    }

    /// The region named by the certificates' roles (`server.<region>.caravan`).
    public let region: String
    let material: Material?

    /// No encryption, no authentication. Development only.
    public static func plaintext(region: String = "global") -> TransportSecurityConfiguration {
        TransportSecurityConfiguration(region: region, material: nil)
    }

    /// Mutual TLS from the files in `files`.
    /// - Throws: ``TLSConfigurationError`` when a file is missing, unreadable,
    ///   not PEM, or the key does not belong to the certificate.
    public static func mutualTLS(_ files: TLSFiles, region: String = "global") throws(TLSConfigurationError) -> TransportSecurityConfiguration {
        let ca = try read(files.caPath, what: "CA certificate")
        let cert = try read(files.certificatePath, what: "certificate")
        let key = try read(files.keyPath, what: "private key")
        return try mutualTLS(caPEM: ca, certificatePEM: cert, keyPEM: key, region: region, paths: files)
    }

    /// Mutual TLS from PEM text held in memory.
    public static func mutualTLS(
        caPEM: String, certificatePEM: String, keyPEM: String, region: String = "global"
    ) throws(TLSConfigurationError) -> TransportSecurityConfiguration {
        try mutualTLS(
            caPEM: Array(caPEM.utf8), certificatePEM: Array(certificatePEM.utf8), keyPEM: Array(keyPEM.utf8),
            region: region, paths: TLSFiles(caPath: "<memory>", certificatePath: "<memory>", keyPath: "<memory>")
        )
    }

    private static func mutualTLS(
        caPEM: [UInt8], certificatePEM: [UInt8], keyPEM: [UInt8], region: String, paths: TLSFiles
    ) throws(TLSConfigurationError) -> TransportSecurityConfiguration {
        let caCertificates: [NIOSSLCertificate]
        do {
            caCertificates = try NIOSSLCertificate.fromPEMBytes(caPEM)
        } catch {
            throw .invalidPEM(path: paths.caPath, what: "CA certificate", reason: "\(error)")
        }
        guard !caCertificates.isEmpty else {
            throw .invalidPEM(path: paths.caPath, what: "CA certificate", reason: "no certificate in the file")
        }
        let leaf: Certificate
        do {
            guard let first = try NIOSSLCertificate.fromPEMBytes(certificatePEM).first else {
                throw TLSConfigurationError.invalidPEM(path: paths.certificatePath, what: "certificate", reason: "no certificate in the file")
            }
            leaf = try Certificate(derEncoded: try first.toDERBytes())
        } catch let error as TLSConfigurationError {
            throw error
        } catch {
            throw .invalidPEM(path: paths.certificatePath, what: "certificate", reason: "\(error)")
        }
        do {
            _ = try NIOSSLPrivateKey(bytes: keyPEM, format: .pem)
        } catch {
            throw .invalidPEM(path: paths.keyPath, what: "private key", reason: "\(error)")
        }
        do {
            let keyDER = try Certificate.PrivateKey(pemEncoded: String(decoding: keyPEM, as: UTF8.self))
            guard keyDER.publicKey == leaf.publicKey else {
                throw TLSConfigurationError.keyDoesNotMatchCertificate(keyPath: paths.keyPath, certificatePath: paths.certificatePath)
            }
        } catch let error as TLSConfigurationError {
            throw error
        } catch {
            // NIOSSL could read the key but swift-certificates cannot (an
            // algorithm it lacks): leave the match to the handshake.
        }
        return TransportSecurityConfiguration(
            region: region.lowercased(),
            material: Material(caPEM: caPEM, certificatePEM: certificatePEM, keyPEM: keyPEM, certificate: leaf)
        )
    }

    private static func read(_ path: String, what: String) throws(TLSConfigurationError) -> [UInt8] {
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .unreadableFile(path: path, what: what, reason: error.localizedDescription)
        }
    }

    /// Whether connections are encrypted and mutually authenticated.
    public var isTLS: Bool { material != nil }

    /// The identities this node's own certificate names (empty for plaintext).
    public var localIdentities: [PeerIdentity] {
        material.map { PeerIdentity.identities(in: $0.certificate) } ?? []
    }

    /// The name a server's certificate must carry: `server.<region>.caravan`.
    /// Clients dial servers with it as the TLS server name, so a peer that
    /// presents a client or CLI certificate fails the handshake.
    public var serverName: String { PeerRole.server.dnsName(region: region) }

    /// Security for a listening port: with TLS (1.3 only, with
    /// ``acceptedConnectionInitializer`` installed), a client certificate signed by
    /// the CA is required (no certificate, another CA's, or an expired one is
    /// refused during the handshake). Roles are checked per call by
    /// ``PeerAuthorizer``.
    public var serverSecurity: HTTP2ServerTransport.Posix.TransportSecurity {
        guard let material else { return .plaintext }
        return .mTLS(
            certificateChain: [.bytes(material.certificatePEM, format: .pem)],
            privateKey: .bytes(material.keyPEM, format: .pem)
        ) { config in
            config.trustRoots = .certificates([.bytes(material.caPEM, format: .pem)])
            config.clientCertificateVerification = .noHostnameVerification
        }
    }

    /// Security for dialing a server: with TLS, the server must present a
    /// certificate signed by the CA naming ``serverName``, and this node
    /// presents its own.
    public var clientSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
        guard let material else { return .plaintext }
        return .mTLS(
            certificateChain: [.bytes(material.certificatePEM, format: .pem)],
            privateKey: .bytes(material.keyPEM, format: .pem)
        ) { config in
            config.trustRoots = .certificates([.bytes(material.caPEM, format: .pem)])
            config.serverCertificateVerification = .fullVerification
        }
    }

    /// The TLS context of the Raft port's listener: TLS 1.3 only, a client
    /// certificate from the cluster CA required (its role is checked after
    /// the handshake). Nil for plaintext.
    func raftServerContext() throws -> NIOSSLContext? {
        guard let material else { return nil }
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(material.certificatePEM).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: material.keyPEM, format: .pem))
        )
        config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(material.caPEM))
        config.certificateVerification = .noHostnameVerification
        config.minimumTLSVersion = .tlsv13
        return try NIOSSLContext(configuration: config)
    }

    /// The TLS context for dialing a peer's Raft port: TLS 1.3 only, the
    /// peer's certificate verified against the cluster CA and ``serverName``.
    /// Nil for plaintext.
    func raftClientContext() throws -> NIOSSLContext? {
        guard let material else { return nil }
        var config = TLSConfiguration.makeClientConfiguration()
        config.certificateChain = try NIOSSLCertificate.fromPEMBytes(material.certificatePEM).map { .certificate($0) }
        config.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: material.keyPEM, format: .pem))
        config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(material.caPEM))
        config.certificateVerification = .fullVerification
        config.minimumTLSVersion = .tlsv13
        return try NIOSSLContext(configuration: config)
    }

    /// With TLS, installs the TLS 1.3 requirement (``TLSVersionGate``) on each
    /// connection a server accepts: set it as the server transport's
    /// `channelDebuggingCallbacks.onAcceptTCPConnection`. Nil for plaintext.
    public var acceptedConnectionInitializer: (@Sendable (any Channel) -> EventLoopFuture<Void>)? {
        guard isTLS else { return nil }
        return { @Sendable channel in TLSVersionGate.install(on: channel) }
    }

    /// The same for each connection a client dials: set it as the client
    /// transport's `channelDebuggingCallbacks.onCreateTCPConnection`.
    public var dialedConnectionInitializer: (@Sendable (any Channel) -> EventLoopFuture<Void>)? {
        guard isTLS else { return nil }
        return { @Sendable channel in TLSVersionGate.install(on: channel) }
    }

    /// The `:authority` (and TLS server name) a client uses to dial a server.
    public var clientAuthority: String? { isTLS ? serverName : nil }

    /// A gRPC client transport to the server at `address`, secured by this
    /// configuration: with TLS, it presents this side's certificate, checks
    /// the server's against ``serverName``, and refuses less than TLS 1.3.
    /// `configure` adjusts the rest of gRPC's defaults.
    public func clientTransport(
        to address: PeerAddress, configure: (inout HTTP2ClientTransport.Posix.Config) -> Void = { _ in }
    ) throws -> HTTP2ClientTransport.Posix {
        try HTTP2ClientTransport.Posix(
            target: .dns(host: address.host, port: address.port),
            transportSecurity: clientSecurity,
            config: .defaults { config in
                config.http2.authority = clientAuthority
                config.channelDebuggingCallbacks.onCreateTCPConnection = dialedConnectionInitializer
                configure(&config)
            }
        )
    }
}
