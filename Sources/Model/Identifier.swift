/// A typed string identifier: `NodeID`, `AllocationID`, ... cannot be mixed up.
public struct Identifier<Subject>: Hashable, Comparable, Codable, Sendable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: String

    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        self.rawValue = value
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public static func < (lhs: Identifier, rhs: Identifier) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public var description: String { rawValue }
}

public typealias NodeID = Identifier<Node>
public typealias AllocationID = Identifier<Allocation>
public typealias EvaluationID = Identifier<Evaluation>
public typealias DeploymentID = Identifier<Deployment>

/// A job's identity: its namespace and id.
public struct JobKey: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var id: String

    public init(namespace: String = "default", id: String) {
        self.namespace = namespace
        self.id = id
    }

    public static func < (lhs: JobKey, rhs: JobKey) -> Bool {
        (lhs.namespace, lhs.id) < (rhs.namespace, rhs.id)
    }

    public var description: String { "\(namespace)/\(id)" }
}

extension JobSpec {
    /// The job's identity.
    public var key: JobKey { JobKey(namespace: namespace, id: id) }
}
