extension Duration {
    /// Parses a Nomad/Go-style duration: "30s", "5m", "1h30m", "1.5h",
    /// "250ms", "10us", "0". Returns nil when the text is not a duration.
    public init?(nomad text: String) {
        // Specifications and Raft entries carry durations as such text, so
        // the common form, ASCII without spaces, is read as bytes (the
        // character-wise reading below was a quarter of a job's decoding).
        if let parsed = Self.nanoseconds(asciiNomad: text) {
            guard let nanos = parsed else { return nil }
            self = .nanoseconds(nanos)
            return
        }
        var s = Substring(text.trimmingSpaces())
        guard !s.isEmpty else { return nil }
        var negative = false
        if s.first == "-" || s.first == "+" {
            negative = s.first == "-"
            s = s.dropFirst()
            guard !s.isEmpty else { return nil }
        }
        if s == "0" {
            self = .zero
            return
        }
        var totalNanos: Double = 0
        while !s.isEmpty {
            let number = s.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            s = s.dropFirst(number.count)
            let unit = s.prefix { $0.isLetter || $0 == "µ" }
            guard !unit.isEmpty else { return nil }
            s = s.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs": scale = 1_000
            case "ms": scale = 1_000_000
            case "s": scale = 1_000_000_000
            case "m": scale = 60 * 1_000_000_000
            case "h": scale = 3_600 * 1_000_000_000
            case "d": scale = 86_400 * 1_000_000_000
            default: return nil
            }
            totalNanos += value * scale
        }
        guard totalNanos < 9.2e18 else { return nil }
        let nanos = Int64(totalNanos.rounded())
        self = .nanoseconds(negative ? -nanos : nanos)
    }

    /// `init(nomad:)` for ASCII text without whitespace, as bytes: nil when
    /// the text is not such (the caller reads it character-wise), .some(nil)
    /// when it is but names no duration.
    private static func nanoseconds(asciiNomad text: String) -> Int64?? {
        var text = text
        return text.withUTF8 { bytes -> Int64?? in
            guard !bytes.isEmpty, bytes.allSatisfy({ $0 < 0x80 && $0 != 0x20 && !(0x09...0x0D).contains($0) }) else { return nil }
            var i = 0
            var negative = false
            if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
                negative = bytes[0] == UInt8(ascii: "-")
                i = 1
            }
            if bytes.count - i == 1 && bytes[i] == UInt8(ascii: "0") { return .some(0) }
            guard i < bytes.count else { return .some(nil) }
            var totalNanos: Double = 0
            while i < bytes.count {
                let numberStart = i
                while i < bytes.count, (bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9")) || bytes[i] == UInt8(ascii: ".") { i += 1 }
                guard i > numberStart,
                      let value = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[numberStart..<i]), as: UTF8.self))
                else { return .some(nil) }
                let unitStart = i
                while i < bytes.count, (bytes[i] | 0x20) >= UInt8(ascii: "a") && (bytes[i] | 0x20) <= UInt8(ascii: "z") { i += 1 }
                let scale: Double
                let length = i - unitStart
                switch (length, length > 0 ? bytes[unitStart] : 0, length == 2 ? bytes[unitStart + 1] : 0) {
                case (2, UInt8(ascii: "n"), UInt8(ascii: "s")): scale = 1
                case (2, UInt8(ascii: "u"), UInt8(ascii: "s")): scale = 1_000
                case (2, UInt8(ascii: "m"), UInt8(ascii: "s")): scale = 1_000_000
                case (1, UInt8(ascii: "s"), _): scale = 1_000_000_000
                case (1, UInt8(ascii: "m"), _): scale = 60 * 1_000_000_000
                case (1, UInt8(ascii: "h"), _): scale = 3_600 * 1_000_000_000
                case (1, UInt8(ascii: "d"), _): scale = 86_400 * 1_000_000_000
                default: return .some(nil)
                }
                totalNanos += value * scale
            }
            guard totalNanos < 9.2e18 else { return .some(nil) }
            let nanos = Int64(totalNanos.rounded())
            return .some(negative ? -nanos : nanos)
        }
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
