/// A dotted version such as "1.2.3", "v20.10", "1.0.0-beta.2+build5", for the
/// `version` and `semver` constraint operators.
public struct Version: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Numeric segments; missing segments compare as 0.
    public var segments: [Int]
    /// Pre-release identifiers ("beta.2"), empty for a release.
    public var prerelease: String

    /// Parses leniently (a leading "v", 1 to 4 segments, build metadata ignored);
    /// with `strict`, exactly three segments as semantic versioning asks.
    public init?(_ text: String, strict: Bool = false) {
        var s = Substring(text.trimmingSpaces())
        if !strict, s.first == "v" || s.first == "V" { s = s.dropFirst() }
        if let plus = s.firstIndex(of: "+") { s = s[..<plus] }
        var pre = ""
        if let dash = s.firstIndex(of: "-") {
            pre = String(s[s.index(after: dash)...])
            s = s[..<dash]
            if pre.isEmpty { return nil }
        }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.count <= 4, !strict || parts.count == 3 else { return nil }
        var segments: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.allSatisfy(\.isNumber), let n = Int(part) else { return nil }
            segments.append(n)
        }
        self.segments = segments
        self.prerelease = pre
    }

    public var description: String {
        segments.map(String.init).joined(separator: ".") + (prerelease.isEmpty ? "" : "-\(prerelease)")
    }

    public static func < (lhs: Version, rhs: Version) -> Bool {
        compare(lhs, rhs) < 0
    }

    public static func == (lhs: Version, rhs: Version) -> Bool {
        compare(lhs, rhs) == 0
    }

    public func hash(into hasher: inout Hasher) {
        var s = segments
        while s.last == 0 { s.removeLast() }
        hasher.combine(s)
        hasher.combine(prerelease)
    }

    static func compare(_ a: Version, _ b: Version) -> Int {
        for i in 0..<max(a.segments.count, b.segments.count) {
            let x = i < a.segments.count ? a.segments[i] : 0
            let y = i < b.segments.count ? b.segments[i] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        switch (a.prerelease.isEmpty, b.prerelease.isEmpty) {
        case (true, true): return 0
        case (true, false): return 1
        case (false, true): return -1
        case (false, false):
            let xs = a.prerelease.split(separator: "."), ys = b.prerelease.split(separator: ".")
            for (x, y) in zip(xs, ys) where x != y {
                switch (Int(x), Int(y)) {
                case let (i?, j?): return i < j ? -1 : 1
                case (.some, nil): return -1
                case (nil, .some): return 1
                case (nil, nil): return x < y ? -1 : 1
                }
            }
            return xs.count == ys.count ? 0 : (xs.count < ys.count ? -1 : 1)
        }
    }
}

/// A version requirement such as ">= 1.2, < 2.0" or "~> 1.4".
public struct VersionRequirement: Hashable, Sendable {
    /// One comparison of a requirement.
    public struct Clause: Hashable, Sendable {
        public var op: String
        public var version: Version
    }

    public var clauses: [Clause]
    /// Whether versions are parsed strictly (the `semver` operator).
    public var strict: Bool

    /// Parses comma-separated clauses; nil when any clause is malformed.
    public init?(_ text: String, strict: Bool = false) {
        var clauses: [Clause] = []
        for raw in text.split(separator: ",") {
            var s = String(raw).trimmingSpaces()
            var op = "="
            for candidate in [">=", "<=", "!=", "~>", "=", ">", "<"] where s.hasPrefix(candidate) {
                op = candidate
                s = String(s.dropFirst(candidate.count)).trimmingSpaces()
                break
            }
            guard let v = Version(s, strict: strict) else { return nil }
            clauses.append(Clause(op: op, version: v))
        }
        guard !clauses.isEmpty else { return nil }
        self.clauses = clauses
        self.strict = strict
    }

    /// Whether `version` meets every clause. Pre-releases match only clauses
    /// that name a pre-release of the same numbers, as go-version does.
    public func isSatisfied(by version: Version) -> Bool {
        clauses.allSatisfy { clause in
            if !strict, !version.prerelease.isEmpty,
               clause.version.prerelease.isEmpty || clause.version.segments != version.segments {
                return false
            }
            let c = Version.compare(version, clause.version)
            switch clause.op {
            case "=": return c == 0
            case "!=": return c != 0
            case ">": return c > 0
            case ">=": return c >= 0
            case "<": return c < 0
            case "<=": return c <= 0
            case "~>":
                // Pessimistic: >= v and below the next release of the
                // second-to-last given segment.
                guard c >= 0 else { return false }
                var upper = clause.version.segments
                if upper.count > 1 { upper.removeLast() }
                upper[upper.count - 1] += 1
                let top = Version(upper.map(String.init).joined(separator: "."))!
                return Version.compare(Version(version.segments.map(String.init).joined(separator: "."))!, top) < 0
            default: return false
            }
        }
    }
}
