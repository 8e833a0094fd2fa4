import RaftCore

/// The replicated state machine: a dictionary changed by "set" and "delete" commands.
struct KeyValueStore {
    enum Command {
        case set(key: String, value: String)
        case delete(key: String)

        /// A tiny text encoding: "set\u{0}key\u{0}value" or "del\u{0}key".
        var encoded: [UInt8] {
            switch self {
            case let .set(key, value): Array("set\u{0}\(key)\u{0}\(value)".utf8)
            case let .delete(key): Array("del\u{0}\(key)".utf8)
            }
        }

        init?(decoding bytes: [UInt8]) {
            let parts = String(decoding: bytes, as: UTF8.self).split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
            switch (parts.first, parts.count) {
            case ("set", 3): self = .set(key: parts[1], value: parts[2])
            case ("del", 2): self = .delete(key: parts[1])
            default: return nil
            }
        }
    }

    private(set) var values: [String: String] = [:]
    private(set) var appliedIndex: UInt64 = 0

    mutating func apply(_ entry: Entry) {
        appliedIndex = entry.index
        guard entry.kind == .normal, let command = Command(decoding: entry.data) else { return }
        switch command {
        case let .set(key, value): values[key] = value
        case let .delete(key): values[key] = nil
        }
    }

    /// The whole state as snapshot data: "key\u{0}value\u{0}" pairs, sorted.
    func snapshotData() -> [UInt8] {
        Array(values.sorted { $0.key < $1.key }.map { "\($0.key)\u{0}\($0.value)\u{0}" }.joined().utf8)
    }

    mutating func restore(_ snapshot: Snapshot) {
        let parts = String(decoding: snapshot.data, as: UTF8.self).split(separator: "\u{0}").map(String.init)
        values = [:]
        for pair in stride(from: 0, to: parts.count - 1, by: 2) { values[parts[pair]] = parts[pair + 1] }
        appliedIndex = snapshot.metadata.index
    }
}
