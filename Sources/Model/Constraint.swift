/// An operator of constraints and affinities, as Nomad spells them.
public enum ConstraintOperator: String, CaseIterable, Hashable, Codable, Sendable {
    case equal = "="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    case regexp
    case version
    case semver
    case setContains = "set_contains"
    case setContainsAll = "set_contains_all"
    case setContainsAny = "set_contains_any"
    case isSet = "is_set"
    case isNotSet = "is_not_set"
    case distinctHosts = "distinct_hosts"
    case distinctProperty = "distinct_property"

    /// Whether the operator compares against a value (`value` is required).
    public var needsValue: Bool {
        switch self {
        case .isSet, .isNotSet, .distinctHosts, .distinctProperty: false
        default: true
        }
    }

    /// Whether the operator is about the placement of other allocations
    /// rather than one node's properties.
    public var isPlacementWide: Bool {
        self == .distinctHosts || self == .distinctProperty
    }
}

/// A hard requirement on the nodes a job or group may run on, such as
/// `${attr.kernel.name} = linux`.
public struct Constraint: Hashable, Sendable, CustomStringConvertible {
    /// The left side: an interpolated node property such as `${attr.os.name}`,
    /// `${node.datacenter}`, `${meta.rack}`, or a literal.
    public var attribute: String
    /// How the sides compare.
    public var `operator`: ConstraintOperator
    /// The right side (for `distinct_property`, the allowed count, default 1).
    public var value: String

    /// A constraint `attribute operator value`.
    public init(attribute: String = "", operator: ConstraintOperator = .equal, value: String = "") {
        self.attribute = attribute
        self.operator = `operator`
        self.value = value
    }

    /// `${attr.os} = windows`, as used in placement explanations.
    public var description: String {
        switch `operator` {
        case .distinctHosts: "distinct_hosts"
        case .isSet, .isNotSet: "\(attribute) \(`operator`.rawValue)"
        case .distinctProperty: "distinct_property \(attribute)" + (value.isEmpty ? "" : " \(value)")
        default: "\(attribute) \(`operator`.rawValue) \(value)"
        }
    }
}

/// A soft preference for nodes: matching nodes gain (or, with a negative
/// weight, lose) score in proportion to `weight`, −100…100.
public struct Affinity: Hashable, Sendable, CustomStringConvertible {
    public var attribute: String
    public var `operator`: ConstraintOperator
    public var value: String
    /// −100…100, not zero. Default 50.
    public var weight: Int

    /// An affinity `attribute operator value` of `weight`.
    public init(attribute: String = "", operator: ConstraintOperator = .equal, value: String = "", weight: Int = 50) {
        self.attribute = attribute
        self.operator = `operator`
        self.value = value
        self.weight = weight
    }

    public var description: String {
        "\(attribute) \(`operator`.rawValue) \(value) (weight \(weight))"
    }

    /// The same test as a constraint.
    public var asConstraint: Constraint {
        Constraint(attribute: attribute, operator: `operator`, value: value)
    }
}

/// A share of allocations wanted for one value of a spread attribute.
public struct SpreadTarget: Hashable, Sendable {
    public var value: String
    /// 0…100.
    public var percent: Int

    public init(value: String, percent: Int) {
        self.value = value
        self.percent = percent
    }
}

/// Spreads allocations over the values of a node attribute (such as
/// `${node.datacenter}`), evenly or to explicit percentage targets.
public struct Spread: Hashable, Sendable {
    public var attribute: String
    /// 0…100. Default 50.
    public var weight: Int
    /// Explicit shares; when empty, spread evenly over the values seen.
    public var targets: [SpreadTarget]

    public init(attribute: String = "", weight: Int = 50, targets: [SpreadTarget] = []) {
        self.attribute = attribute
        self.weight = weight
        self.targets = targets
    }
}

// MARK: - Document form

extension Constraint: SpecMappable {
    public static func read(from r: inout SpecReader) -> Constraint {
        var c = Constraint()
        c.attribute = r.string("attribute") ?? ""
        if let op = r.value("operator"), case .string(let s) = op {
            // Accept "==" as Nomad does.
            if s == "==" {
                c.operator = .equal
            } else if let parsed = ConstraintOperator(rawValue: s) {
                c.operator = parsed
            } else {
                let all = ConstraintOperator.allCases.map(\.rawValue)
                var message = "\"\(s)\" is not a constraint operator; use one of \(all.joined(separator: ", "))"
                if let near = suggestion(for: s, among: all) { message += "; did you mean \"\(near)\"?" }
                r.report("operator", message)
            }
        } else if let op = r.value("operator") {
            r.report("operator", "must be a string, not \(op.kindDescription)")
        }
        c.value = r.string("value") ?? ""
        return c
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        if !attribute.isEmpty { w.put("attribute", attribute) }
        w.put("operator", `operator`.rawValue)
        if !value.isEmpty { w.put("value", value) }
        return w.value
    }
}

extension Affinity: SpecMappable {
    public static func read(from r: inout SpecReader) -> Affinity {
        let c = Constraint.read(from: &r)
        return Affinity(attribute: c.attribute, operator: c.operator, value: c.value, weight: r.int("weight") ?? 50)
    }

    public var specValue: SpecValue {
        guard case .map(var pairs) = asConstraint.specValue else { return .null }
        pairs.append(("weight", .int(weight)))
        return .map(pairs)
    }
}

extension SpreadTarget: SpecMappable {
    public static func read(from r: inout SpecReader) -> SpreadTarget {
        SpreadTarget(value: r.string("value") ?? "", percent: r.int("percent") ?? 0)
    }

    public var specValue: SpecValue {
        .map([("value", .string(value)), ("percent", .int(percent))])
    }
}

extension Spread: SpecMappable {
    public static func read(from r: inout SpecReader) -> Spread {
        Spread(
            attribute: r.string("attribute") ?? "",
            weight: r.int("weight") ?? 50,
            targets: r.objects("targets", SpreadTarget.read) ?? []
        )
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("attribute", attribute)
        w.put("weight", weight)
        w.put("targets", targets)
        return w.value
    }
}
