import GRPCCore
import GRPCNIOTransportHTTP2
import X509

/// Decides whether the caller of an RPC may call it, from the role in its
/// client certificate. Services call ``authorize(_:)`` first thing in every
/// handler.
public struct PeerAuthorizer: Sendable {
    private enum Rule: Sendable {
        case anyone
        case roles(Set<PeerRole>, region: String)
    }

    private let rule: Rule

    /// Lets every caller in: for a server without TLS (development only).
    public static let allowAll = PeerAuthorizer(rule: .anyone)

    /// Lets in callers whose certificate names one of `roles` in `region`.
    public static func require(_ roles: Set<PeerRole>, region: String) -> PeerAuthorizer {
        PeerAuthorizer(rule: .roles(roles, region: region.lowercased()))
    }

    /// The authorizer that goes with a transport security: ``allowAll`` for
    /// plaintext, otherwise ``require(_:region:)`` in the configuration's region.
    public static func requiring(_ roles: Set<PeerRole>, under security: TransportSecurityConfiguration) -> PeerAuthorizer {
        security.isTLS ? .require(roles, region: security.region) : .allowAll
    }

    /// The identity that passed, or nil under ``allowAll``.
    /// - Throws: `RPCError` with `.unauthenticated` when the call has no client
    ///   certificate, `.permissionDenied` when its certificate names no
    ///   allowed role.
    @discardableResult
    public func authorize(_ context: ServerContext) throws -> PeerIdentity? {
        guard case .roles(let roles, let region) = rule else { return nil }
        let posix = context.transportSpecific as? HTTP2ServerTransport.Posix.Context
        guard let certificate = posix?.peerCertificate else {
            throw RPCError(code: .unauthenticated, message: "a client certificate signed by the cluster CA is required")
        }
        return try authorize(certificate: certificate, roles: roles, region: region)
    }

    /// Checks a certificate against the rule, as ``authorize(_:)`` does.
    public func authorize(certificate: Certificate) throws -> PeerIdentity? {
        guard case .roles(let roles, let region) = rule else { return nil }
        return try authorize(certificate: certificate, roles: roles, region: region)
    }

    private func authorize(certificate: Certificate, roles: Set<PeerRole>, region: String) throws -> PeerIdentity {
        let identities = PeerIdentity.identities(in: certificate)
        if let match = identities.first(where: { roles.contains($0.role) && $0.region == region }) {
            return match
        }
        let wanted = roles.map { $0.dnsName(region: region) }.sorted().joined(separator: " or ")
        let presented = identities.isEmpty ? "no Caravan role" : identities.map(\.dnsName).joined(separator: ", ")
        throw RPCError(
            code: .permissionDenied,
            message: "certificate names \(presented); this call needs \(wanted)"
        )
    }
}
