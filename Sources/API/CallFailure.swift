import GRPCCore
import Transport

/// A failed call to a cluster, classified so that a program can say what
/// went wrong without knowing gRPC: the server could not be reached, it
/// refused the request (and why), it does not offer the call, ...
public struct CallFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// No connection to the server: nothing listens there, the name does
        /// not resolve, or TLS failed.
        case unreachable
        /// The server answered that it cannot serve now (no leader, stopping).
        case unavailable
        /// The request was refused as invalid; `message` says why.
        case invalidRequest
        case notFound
        /// The server does not implement the call (an older server).
        case unsupported
        /// The certificate presented lacks the role the call needs, or none was presented.
        case denied
        case timedOut
        case other
    }

    public var kind: Kind
    /// The server's message (or the transport's, for ``Kind/unreachable``).
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    /// The failure `error` describes; nil when it is not a failed call.
    public init?(_ error: any Error) {
        guard let rpc = error as? RPCError else { return nil }
        message = rpc.message
        switch rpc.code {
        case .unavailable:
            kind = Self.isConnectionFailure(rpc) ? .unreachable : .unavailable
            if kind == .unreachable { message = Self.connectionFailureReason(rpc) }
        case .invalidArgument, .failedPrecondition, .outOfRange, .alreadyExists:
            kind = .invalidRequest
        case .notFound:
            kind = .notFound
        case .unimplemented:
            kind = .unsupported
        case .permissionDenied, .unauthenticated:
            kind = .denied
        case .deadlineExceeded:
            kind = .timedOut
        default:
            kind = .other
            message = "\(rpc.code): \(rpc.message)"
        }
    }

    /// Whether an `unavailable` error came from the transport (no
    /// connection) rather than from a server that answered.
    private static func isConnectionFailure(_ error: RPCError) -> Bool {
        var text = error.message.lowercased()
        if let cause = error.cause { text += " " + String(describing: cause).lowercased() }
        let markers = ["connect", "refused", "unreachable", "resolve", "no route", "tls", "ssl", "handshake", "eof", "reset"]
        return markers.contains { text.contains($0) }
    }

    /// "connection refused" rather than a chain of wrapped transport errors.
    private static func connectionFailureReason(_ error: RPCError) -> String {
        var innermost: any Error = error
        while let rpc = innermost as? RPCError, let cause = rpc.cause { innermost = cause }
        let text = String(describing: innermost)
        let reasons = [
            ("refused", "connection refused"), ("timed out", "connection timed out"), ("unreachable", "network unreachable"),
            ("certificate_verify_failed", "TLS handshake failed: the server's certificate is not signed by the CA given, or does not name the server's region"),
            ("wrong_version_number", "TLS handshake failed: the server does not use TLS"),
            ("handshakefailed", "TLS handshake failed"),
        ]
        for (marker, reason) in reasons where text.lowercased().contains(marker) {
            return reason
        }
        return innermost is RPCError ? error.message : "\(error.message) (\(text))"
    }

    public var description: String { message }
}
