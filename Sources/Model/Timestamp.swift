/// A point in time, as a duration since the Unix epoch.
///
/// Model and Scheduler never read a clock: the caller passes `now` in. This
/// makes every decision reproducible from its inputs.
public struct Timestamp: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    /// Time elapsed since 1970-01-01T00:00:00Z.
    public var sinceEpoch: Duration

    /// A timestamp `sinceEpoch` after the Unix epoch.
    public init(sinceEpoch: Duration) {
        self.sinceEpoch = sinceEpoch
    }

    /// A timestamp a whole number of seconds after the Unix epoch.
    public init(seconds: Int64) {
        self.sinceEpoch = .seconds(seconds)
    }

    /// The Unix epoch.
    public static let epoch = Timestamp(sinceEpoch: .zero)

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.sinceEpoch < rhs.sinceEpoch
    }

    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp {
        Timestamp(sinceEpoch: lhs.sinceEpoch + rhs)
    }

    public static func - (lhs: Timestamp, rhs: Duration) -> Timestamp {
        Timestamp(sinceEpoch: lhs.sinceEpoch - rhs)
    }

    public static func - (lhs: Timestamp, rhs: Timestamp) -> Duration {
        lhs.sinceEpoch - rhs.sinceEpoch
    }

    public var description: String {
        "@\(sinceEpoch.seconds)s"
    }
}
