#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A POSIX signal, by number, that reads and encodes as its name (`"SIGTERM"`).
public struct TaskSignal: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The signal number.
    public let rawValue: Int32

    /// A signal by number.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `SIGTERM`, the default kill signal.
    public static let terminate = TaskSignal(rawValue: SIGTERM)
    /// `SIGKILL`, which cannot be caught or ignored.
    public static let kill = TaskSignal(rawValue: SIGKILL)
    /// `SIGINT`.
    public static let interrupt = TaskSignal(rawValue: SIGINT)
    /// `SIGHUP`.
    public static let hangup = TaskSignal(rawValue: SIGHUP)
    /// `SIGQUIT`.
    public static let quit = TaskSignal(rawValue: SIGQUIT)
    /// `SIGUSR1`.
    public static let user1 = TaskSignal(rawValue: SIGUSR1)
    /// `SIGUSR2`.
    public static let user2 = TaskSignal(rawValue: SIGUSR2)

    private static let names: [(String, Int32)] = [
        ("SIGHUP", SIGHUP), ("SIGINT", SIGINT), ("SIGQUIT", SIGQUIT), ("SIGKILL", SIGKILL),
        ("SIGUSR1", SIGUSR1), ("SIGUSR2", SIGUSR2), ("SIGTERM", SIGTERM), ("SIGALRM", SIGALRM),
        ("SIGCONT", SIGCONT), ("SIGSTOP", SIGSTOP), ("SIGTSTP", SIGTSTP), ("SIGWINCH", SIGWINCH),
        ("SIGPIPE", SIGPIPE), ("SIGABRT", SIGABRT), ("SIGSEGV", SIGSEGV),
    ]

    /// A signal by name (`"SIGTERM"`, `"TERM"`, case-insensitive) or number (`"15"`).
    public init?(name: String) {
        if let number = Int32(name), number > 0, number < 65 {
            self.rawValue = number
            return
        }
        var upper = name.uppercased()
        if !upper.hasPrefix("SIG") { upper = "SIG" + upper }
        guard let match = Self.names.first(where: { $0.0 == upper }) else { return nil }
        self.rawValue = match.1
    }

    /// The signal's name, such as `SIGTERM`, or `SIG<number>` for an unnamed one.
    public var name: String {
        Self.names.first(where: { $0.1 == rawValue })?.0 ?? "SIG\(rawValue)"
    }

    public var description: String { name }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int32.self) {
            self.rawValue = number
            return
        }
        let name = try container.decode(String.self)
        guard let signal = TaskSignal(name: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown signal \"\(name)\"")
        }
        self = signal
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
