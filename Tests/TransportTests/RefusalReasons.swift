import GRPCCore

/// Why a call failed, all the way down: an `RPCError`'s message, then its
/// cause's, and so on (a failed handshake surfaces as `.unavailable` whose
/// causes name the TLS failure).
func failureChain(_ error: any Error) -> String {
    var parts: [String] = []
    var next: (any Error)? = error
    while let current = next, parts.count < 8 {
        if let rpc = current as? RPCError {
            parts.append("\(rpc.code): \(rpc.message)")
            next = rpc.cause
        } else {
            parts.append(String(reflecting: current))
            next = nil
        }
    }
    return parts.joined(separator: " <- ")
}
