/// Jittered exponential backoff between reconnection attempts: the n-th delay
/// is `initial * multiplier^n`, capped at `maximum`, then spread uniformly by
/// ±`jitter` so that peers that lost each other at the same moment do not
/// retry in lockstep.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    /// Fraction of the delay the jitter may add or remove, in 0...1.
    public var jitter: Double
    /// Failures since the last ``reset()``.
    public private(set) var attempts: Int = 0

    public init(
        initial: Duration = .milliseconds(50), maximum: Duration = .seconds(5),
        multiplier: Double = 2, jitter: Double = 0.2
    ) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = max(1, multiplier)
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay before the next attempt; counts one more failure.
    public mutating func next<Generator: RandomNumberGenerator>(using generator: inout Generator) -> Duration {
        let base = Self.seconds(initial) * pow(multiplier, attempts)
        let capped = min(base, Self.seconds(maximum))
        attempts += 1
        let spread = jitter == 0 ? 1 : Double.random(in: (1 - jitter)...(1 + jitter), using: &generator)
        return .nanoseconds(Int64((capped * spread * 1e9).rounded()))
    }

    /// The delay before the next attempt, jittered by the system generator.
    public mutating func next() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    /// Starts over after a success.
    public mutating func reset() { attempts = 0 }

    private static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    private func pow(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<min(exponent, 64) { result *= base }
        return result
    }
}
