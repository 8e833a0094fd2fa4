/// A generic document tree: what a YAML or JSON job file holds before it is
/// mapped onto typed values, and the form of free-form fields such as a task's
/// driver `config`.
///
/// Scalars keep their kind (string, integer, float, boolean, null) so that a
/// driver can read `config.args` as a list and `config.port` as an integer.
public enum SpecValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([SpecValue])
    /// Keys in document order.
    case map([(key: String, value: SpecValue)])

    /// A short name of the kind, for messages: "a string", "a list", ...
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int: "an integer"
        case .double: "a number"
        case .string: "a string"
        case .list: "a list"
        case .map: "a map"
        }
    }

    /// The value at `key` when this is a map.
    public subscript(key: String) -> SpecValue? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.first { $0.key == key }?.value
    }

    /// The string when this is a string scalar.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer when this is an integer scalar.
    public var intValue: Int? {
        if case .int(let i) = self { return i }
        return nil
    }

    /// A deterministic one-line rendering (map keys sorted), used for
    /// fingerprints and messages.
    public var canonicalText: String {
        var out = ""
        render(into: &out)
        return out
    }

    /// Writes ``canonicalText`` into `out`: a text, or a hash of its bytes
    /// (``FNV1a``), which then needs no text built.
    func render(into out: inout some CanonicalTextSink) {
        switch self {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .int(let i): out.append(String(i))
        case .double(let d): out.append(String(d))
        case .string(let s):
            out.append("\"")
            out.append(s.replacingEscapes())
            out.append("\"")
        case .list(let items):
            out.append("[")
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(",") }
                item.render(into: &out)
            }
            out.append("]")
        case .map(let pairs):
            out.append("{")
            for (i, index) in pairs.indices.sorted(by: { pairs[$0].key < pairs[$1].key }).enumerated() {
                if i > 0 { out.append(",") }
                out.append("\"")
                out.append(pairs[index].key.replacingEscapes())
                out.append("\":")
                pairs[index].value.render(into: &out)
            }
            out.append("}")
        }
    }

    public static func == (lhs: SpecValue, rhs: SpecValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.list(let a), .list(let b)): a == b
        case (.map(let a), .map(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(1); hasher.combine(b)
        case .int(let i): hasher.combine(2); hasher.combine(i)
        case .double(let d): hasher.combine(3); hasher.combine(d)
        case .string(let s): hasher.combine(4); hasher.combine(s)
        case .list(let items): hasher.combine(5); hasher.combine(items)
        case .map(let pairs):
            hasher.combine(6)
            hasher.combine(pairs.count)
            for pair in pairs {
                hasher.combine(pair.key)
                hasher.combine(pair.value)
            }
        }
    }
}

extension String {
    fileprivate func replacingEscapes() -> String {
        // By bytes first: most text has nothing to escape, and walking it by
        // Character (as below, which decides what is escaped) costs more.
        guard utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n") }) else {
            return self
        }
        var out = ""
        for ch in self {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }
}

// MARK: - Codable

/// A coding key for arbitrary map keys.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

extension SpecValue: Codable {
    /// Decodes any document shape: maps, lists and scalars.
    public init(from decoder: any Decoder) throws {
        if let packed = decoder as? PackedDecoding {
            self = try packed.reader.specValue(at: packed.offset, packed.codingPath)
            return
        }
        // Leaves outnumber maps and lists, and through `Decoder` every kind
        // tried and missed throws an error: scalars first, most common first.
        if let single = try? decoder.singleValueContainer(), let scalar = Self.scalar(in: single) {
            self = scalar
            return
        }
        if let keyed = try? decoder.container(keyedBy: AnyCodingKey.self) {
            var pairs: [(key: String, value: SpecValue)] = []
            // `allKeys` of JSONDecoder is unordered; sort for determinism.
            for key in keyed.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                pairs.append((key.stringValue, try keyed.decode(SpecValue.self, forKey: key)))
            }
            self = .map(pairs)
            return
        }
        var unkeyed = try decoder.unkeyedContainer()
        var items: [SpecValue] = []
        while !unkeyed.isAtEnd {
            items.append(try unkeyed.decode(SpecValue.self))
        }
        self = .list(items)
    }

    /// The scalar `single` holds, or nil for a map or a list.
    private static func scalar(in single: any SingleValueDecodingContainer) -> SpecValue? {
        if single.decodeNil() { return .null }
        if let s = try? single.decode(String.self) { return .string(s) }
        if let b = try? single.decode(Bool.self) { return .bool(b) }
        if let i = try? single.decode(Int.self) { return .int(i) }
        if let d = try? single.decode(Double.self) { return .double(d) }
        return nil
    }

    /// Encodes the tree as the natural document shape.
    public func encode(to encoder: any Encoder) throws {
        if let packed = encoder as? PackedEncoding {
            packed.writer.write(self)
            return
        }
        switch self {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .int(let i):
            var c = encoder.singleValueContainer()
            try c.encode(i)
        case .double(let d):
            var c = encoder.singleValueContainer()
            try c.encode(d)
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .list(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(item) }
        case .map(let pairs):
            var c = encoder.container(keyedBy: AnyCodingKey.self)
            for pair in pairs {
                try c.encode(pair.value, forKey: AnyCodingKey(stringValue: pair.key))
            }
        }
    }
}

/// Where ``SpecValue/render(into:)`` writes.
protocol CanonicalTextSink {
    mutating func append(_ text: String)
}

extension String: CanonicalTextSink {}

/// 64-bit FNV-1a of the bytes appended.
struct FNV1a: CanonicalTextSink {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func append(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
    }
}
