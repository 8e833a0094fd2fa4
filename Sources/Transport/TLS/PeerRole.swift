import X509

/// What a certificate allows its holder to be. Roles live in the certificate's
/// DNS names: `server.<region>.caravan`, `client.<region>.caravan`,
/// `cli.<region>.caravan`.
public enum PeerRole: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A Raft server: may send Raft traffic and serve every API.
    case server
    /// A worker node: may use the node API.
    case client
    /// An operator's command-line tool: may use the public API.
    case cli

    /// The DNS name that carries this role in `region`, e.g. `server.global.caravan`.
    public func dnsName(region: String) -> String { "\(rawValue).\(region).caravan" }

    public var description: String { rawValue }
}

/// A role in a region, as named by a certificate.
public struct PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    public var role: PeerRole
    public var region: String

    public init(role: PeerRole, region: String) {
        self.role = role
        self.region = region
    }

    /// Parses `<role>.<region>.caravan`; nil for any other name.
    public init?(dnsName: String) {
        let labels = dnsName.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count == 3, labels[2] == "caravan", !labels[1].isEmpty,
            let role = PeerRole(rawValue: String(labels[0]))
        else { return nil }
        self.init(role: role, region: String(labels[1]))
    }

    /// `<role>.<region>.caravan`.
    public var dnsName: String { role.dnsName(region: region) }

    public var description: String { dnsName }

    /// The identities a certificate names. Subject alternative DNS names count;
    /// the subject's common name counts only when the certificate has no
    /// subject alternative names (as RFC 6125 asks of hostname checks).
    public static func identities(in certificate: Certificate) -> [PeerIdentity] {
        let sans = try? certificate.extensions.subjectAlternativeNames
        if let sans {
            return sans.compactMap { name in
                if case .dnsName(let dns) = name { return PeerIdentity(dnsName: dns) }
                return nil
            }
        }
        var found: [PeerIdentity] = []
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let name = String(attribute.value), let identity = PeerIdentity(dnsName: name) {
                    found.append(identity)
                }
            }
        }
        return found
    }
}
