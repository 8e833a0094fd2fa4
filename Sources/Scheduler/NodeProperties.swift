import Model

/// A constraint target parsed once: literal text and `${...}` property
/// references — `${attr.KEY}`, `${meta.KEY}`, `${node.unique.id}`,
/// `${node.unique.name}`, `${node.datacenter}`, `${node.class}`, `${node.pool}`.
struct PropertyTarget {
    enum Segment {
        case literal(String)
        case attribute(String)
        case meta(String)
        case driver(name: String, key: String?)
        case nodeID, nodeName, datacenter, nodeClass, nodePool
        case unknown
    }

    let segments: [Segment]
    /// The text itself when it references no property.
    let literal: String?

    init(_ text: String) {
        var segments: [Segment] = []
        var literalText = ""
        var chars = Array(text.unicodeScalars)[...]
        while !chars.isEmpty {
            if chars.count >= 2, chars[chars.startIndex] == "$", chars[chars.startIndex + 1] == "{",
               let close = chars.firstIndex(of: "}") {
                if !literalText.isEmpty {
                    segments.append(.literal(literalText))
                    literalText = ""
                }
                var name = ""
                name.unicodeScalars.append(contentsOf: chars[(chars.startIndex + 2)..<close])
                segments.append(Self.segment(name))
                chars = chars[(close + 1)...]
            } else {
                literalText.unicodeScalars.append(chars.removeFirst())
            }
        }
        if !literalText.isEmpty { segments.append(.literal(literalText)) }
        self.segments = segments
        if segments.count == 1, case .literal(let l) = segments[0] {
            literal = l
        } else {
            literal = segments.isEmpty ? "" : nil
        }
    }

    private static func segment(_ name: String) -> Segment {
        if name.hasPrefix("attr.driver.") {
            let rest = name.dropFirst(12)
            if let dot = rest.firstIndex(of: ".") {
                return .driver(name: String(rest[..<dot]), key: String(rest[rest.index(after: dot)...]))
            }
            return .driver(name: String(rest), key: nil)
        }
        if name.hasPrefix("attr.") { return .attribute(String(name.dropFirst(5))) }
        if name.hasPrefix("meta.") { return .meta(String(name.dropFirst(5))) }
        switch name {
        case "node.unique.id": return .nodeID
        case "node.unique.name": return .nodeName
        case "node.datacenter": return .datacenter
        case "node.class": return .nodeClass
        case "node.pool": return .nodePool
        default: return .unknown
        }
    }

    /// The resolved text on `node`, or nil when a referenced property is not set.
    func resolve(on node: Node) -> String? {
        if let literal { return literal }
        if segments.count == 1 { return Self.value(segments[0], node) }
        var out = ""
        for segment in segments {
            guard let v = Self.value(segment, node) else { return nil }
            out += v
        }
        return out
    }

    private static func value(_ segment: Segment, _ node: Node) -> String? {
        switch segment {
        case .literal(let l): return l
        case .attribute(let key):
            if let v = node.attributes[key] { return v }
            return nil
        case .meta(let key): return node.meta[key]
        case .driver(let name, let key):
            if let v = node.attributes["driver.\(name)" + (key.map { ".\($0)" } ?? "")] { return v }
            guard let driver = node.drivers[name], driver.detected else { return nil }
            return key.map { driver.attributes[$0] } ?? "1"
        case .nodeID: return node.id.rawValue
        case .nodeName: return node.name
        case .datacenter: return node.datacenter
        case .nodeClass: return node.nodeClass
        case .nodePool: return node.nodePool
        case .unknown: return nil
        }
    }
}

enum NodeProperties {
    /// Resolves a target once (uncached); hot paths keep a ``PropertyTarget``.
    static func resolve(_ target: String, on node: Node) -> String? {
        PropertyTarget(target).resolve(on: node)
    }
}

/// A constraint or affinity with its regular expression or version
/// requirement compiled once per evaluation.
struct CompiledConstraint {
    let constraint: Constraint
    let lhs: PropertyTarget
    let rhs: PropertyTarget
    let regex: Regex<AnyRegexOutput>?
    let requirement: VersionRequirement?
    let description: String

    init(_ c: Constraint) {
        constraint = c
        lhs = PropertyTarget(c.attribute)
        rhs = PropertyTarget(c.value)
        regex = c.operator == .regexp ? try? Regex(c.value) : nil
        switch c.operator {
        case .version: requirement = VersionRequirement(c.value)
        case .semver: requirement = VersionRequirement(c.value, strict: true)
        default: requirement = nil
        }
        description = "constraint \(c)"
    }

    /// Whether `node` meets the constraint (placement-wide operators always do here).
    func isMet(by node: Node) -> Bool {
        let lhs = self.lhs.resolve(on: node)
        switch constraint.operator {
        case .isSet: return lhs != nil
        case .isNotSet: return lhs == nil
        case .distinctHosts, .distinctProperty: return true
        default: break
        }
        let rhs = self.rhs.resolve(on: node)
        switch constraint.operator {
        case .equal:
            return lhs != nil && lhs == rhs
        case .notEqual:
            return lhs != rhs
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard let lhs, let rhs else { return false }
            let order: Int
            if let x = Double(lhs), let y = Double(rhs) {
                order = x < y ? -1 : (x > y ? 1 : 0)
            } else {
                order = lhs < rhs ? -1 : (lhs > rhs ? 1 : 0)
            }
            switch constraint.operator {
            case .less: return order < 0
            case .lessOrEqual: return order <= 0
            case .greater: return order > 0
            default: return order >= 0
            }
        case .regexp:
            guard let lhs, let regex else { return false }
            return (try? regex.firstMatch(in: lhs)) != nil
        case .version, .semver:
            guard let lhs, let requirement,
                  let v = Version(lhs, strict: constraint.operator == .semver) else { return false }
            return requirement.isSatisfied(by: v)
        case .setContains, .setContainsAll, .setContainsAny:
            guard let lhs, let rhs else { return false }
            let have = Set(lhs.split(separator: ",").map { String($0).trimmed })
            let want = rhs.split(separator: ",").map { String($0).trimmed }
            return constraint.operator == .setContainsAny
                ? want.contains { have.contains($0) }
                : want.allSatisfy { have.contains($0) }
        default:
            return false
        }
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}

/// Matches a datacenter against the job's list ("*" and "dc-*" glob).
func datacenterMatches(_ datacenter: String, _ patterns: [String]) -> Bool {
    patterns.contains { pattern in
        pattern == "*" || pattern == datacenter || globMatches(Array(pattern.utf8)[...], Array(datacenter.utf8)[...])
    }
}

private func globMatches(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
    guard let first = pattern.first else { return text.isEmpty }
    if first == UInt8(ascii: "*") {
        let rest = pattern.dropFirst()
        var t = text
        while true {
            if globMatches(rest, t) { return true }
            guard !t.isEmpty else { return false }
            t = t.dropFirst()
        }
    }
    guard let c = text.first, c == first else { return false }
    return globMatches(pattern.dropFirst(), text.dropFirst())
}
