import Foundation
import Transport

extension PeerAddress {
    /// The gRPC port a Caravan server listens on unless told otherwise.
    public static let defaultClusterPort = 7647

    /// Parses an address as users write it: `host:port`, `host` (the default
    /// port), `[v6]:port`, or a URL such as `http://host:port` (the scheme is
    /// ignored: TLS is chosen by the security configuration, not the URL).
    public init?(clusterAddress text: String) {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard !rest.isEmpty else { return nil }
        let colons = rest.filter { $0 == ":" }.count
        if colons > 1 && !rest.hasPrefix("[") {
            // A bare IPv6 address.
            self.init(host: String(rest), port: Self.defaultClusterPort)
        } else if colons == 0 || rest.hasPrefix("[") && rest.hasSuffix("]") {
            let host = rest.hasPrefix("[") ? rest.dropFirst().dropLast() : rest
            guard !host.isEmpty else { return nil }
            self.init(host: String(host), port: Self.defaultClusterPort)
        } else if let parsed = PeerAddress(String(rest)), !parsed.host.isEmpty {
            self = parsed
        } else {
            return nil
        }
    }
}
