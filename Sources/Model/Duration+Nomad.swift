extension Duration {
    /// Parses a Nomad/Go-style duration: "30s", "5m", "1h30m", "1.5h",
    /// "250ms", "10us", "0". Returns nil when the text is not a duration.
    public init?(nomad text: String) {
        // Read as UTF-8 bytes: specifications and Raft entries carry
        // durations as text, and reading it character-wise (Unicode property
        // lookups per character) was a quarter of decoding a job.
        var text = text.first?.isWhitespace == true || text.last?.isWhitespace == true ? text.trimmingSpaces() : text
        guard let nanos = text.withUTF8(Self.nanoseconds(nomad:)) else { return nil }
        self = .nanoseconds(nanos)
    }

    /// The nanoseconds `bytes` (trimmed) name, or nil when they name no duration.
    private static func nanoseconds(nomad bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        var negative = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < bytes.count else { return nil }
        if bytes.count - i == 1 && bytes[i] == UInt8(ascii: "0") { return 0 }
        func isUnitByte(_ b: UInt8) -> Bool {
            // ASCII letters, and the two bytes of "µ" (U+00B5).
            ((b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z")) || b == 0xC2 || b == 0xB5
        }
        var totalNanos: Double = 0
        while i < bytes.count {
            let numberStart = i
            while i < bytes.count, (bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9")) || bytes[i] == UInt8(ascii: ".") { i += 1 }
            guard i > numberStart,
                  let value = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[numberStart..<i]), as: UTF8.self))
            else { return nil }
            let unitStart = i
            while i < bytes.count, isUnitByte(bytes[i]) { i += 1 }
            let unit = bytes[unitStart..<i]
            func named(_ name: StaticString) -> Bool {
                unit.elementsEqual(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            }
            let scale: Double
            if named("ns") { scale = 1 }
            else if named("us") || named("µs") { scale = 1_000 }
            else if named("ms") { scale = 1_000_000 }
            else if named("s") { scale = 1_000_000_000 }
            else if named("m") { scale = 60 * 1_000_000_000 }
            else if named("h") { scale = 3_600 * 1_000_000_000 }
            else if named("d") { scale = 86_400 * 1_000_000_000 }
            else { return nil }
            totalNanos += value * scale
        }
        guard totalNanos < 9.2e18 else { return nil }
        let nanos = Int64(totalNanos.rounded())
        return negative ? -nanos : nanos
    }

    /// Whole nanoseconds in this duration (saturating).
    public var totalNanoseconds: Int64 {
        let (seconds, attos) = components
        let (n, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return n &+ attos / 1_000_000_000
    }

    /// The duration in seconds as a floating-point number.
    public var seconds: Double {
        Double(totalNanoseconds) / 1e9
    }

    /// Renders in Nomad's style: "1h30m", "30s", "250ms", "0s".
    public var nomadText: String {
        var n = totalNanoseconds
        if n == 0 { return "0s" }
        var out = ""
        if n < 0 {
            out = "-"
            n = -n
        }
        let second: Int64 = 1_000_000_000
        if n < second {
            if n % 1_000_000 == 0 { return out + "\(n / 1_000_000)ms" }
            if n % 1_000 == 0 { return out + "\(n / 1_000)us" }
            return out + "\(n)ns"
        }
        let hours = n / (3_600 * second)
        n -= hours * 3_600 * second
        let minutes = n / (60 * second)
        n -= minutes * 60 * second
        if hours > 0 { out += "\(hours)h" }
        if minutes > 0 { out += "\(minutes)m" }
        if n > 0 {
            if n % second == 0 {
                out += "\(n / second)s"
            } else {
                var fraction = String(Double(n) / 1e9)
                if fraction.hasSuffix(".0") { fraction.removeLast(2) }
                out += fraction + "s"
            }
        }
        return out
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
