import Foundation
import Model

/// How the tables show IDs, times and durations.
enum Formatting {
    /// The first 8 characters of an ID, as Nomad shows them, unless `full`.
    static func short(_ id: String, full: Bool = false) -> String {
        full ? id : String(id.prefix(8))
    }

    static func rfc3339(unixNanoseconds n: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(n) / 1e9))
    }

    /// A time as RFC 3339; "<none>" when unset.
    static func date(unixNanoseconds n: Int64) -> String {
        n == 0 ? "<none>" : rfc3339(unixNanoseconds: n)
    }

    static func date(_ t: Timestamp?) -> String {
        guard let t, t != .epoch else { return "<none>" }
        return rfc3339(unixNanoseconds: t.unixNanoseconds)
    }

    /// How long ago: "12s ago", "3m ago", "5h ago", "2d ago".
    static func ago(unixNanoseconds n: Int64, now: Date = Date()) -> String {
        guard n != 0 else { return "<none>" }
        let seconds = max(0, Int(now.timeIntervalSince1970 - Double(n) / 1e9))
        switch seconds {
        case ..<60: return "\(seconds)s ago"
        case ..<3600: return "\(seconds / 60)m\(seconds % 60)s ago"
        case ..<86_400: return "\(seconds / 3600)h\(seconds % 3600 / 60)m ago"
        default: return "\(seconds / 86_400)d\(seconds % 86_400 / 3600)h ago"
        }
    }

    static func yesNo(_ b: Bool) -> String { b ? "true" : "false" }

    /// "a, b" or "<none>".
    static func list(_ items: [String]) -> String {
        items.isEmpty ? "<none>" : items.joined(separator: ",")
    }
}

/// Writes to the standard streams without buffering: progress and output
/// interleave as they happen, even through a pipe. When the reader of stdout
/// goes away (`caravan job list | head -1`), the process ends quietly with
/// 141, as a SIGPIPE would end it, instead of crashing.
enum Console {
    static func out(_ text: String) {
        write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data((text + "\n").utf8))
    }

    static func json(_ value: JSONOutput) {
        write(Data(value.rendered().utf8))
    }

    /// Bytes to stdout.
    static func write(_ data: Data) {
        do {
            try FileHandle.standardOutput.write(contentsOf: data)
        } catch {
            exit(141)
        }
    }

    /// Bytes to stderr.
    static func writeError(_ data: Data) {
        try? FileHandle.standardError.write(contentsOf: data)
    }
}
