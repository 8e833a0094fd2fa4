import Foundation
import Model

/// A JSON value with its object keys in the order written, so that `--json`
/// output is stable and reads in the order the tables do.
enum JSONOutput: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONOutput])
    case object([Member])

    struct Member: Sendable, Hashable {
        var key: String
        var value: JSONOutput
    }

    /// An object from `key: value` pairs, leaving out nil values.
    static func object(_ pairs: KeyValuePairs<String, JSONOutput?>) -> JSONOutput {
        .object(pairs.compactMap { pair in pair.value.map { Member(key: pair.key, value: $0) } })
    }

    static func int(_ value: some BinaryInteger) -> JSONOutput { .integer(Int64(value)) }

    static func strings(_ values: [String]) -> JSONOutput { .array(values.map(JSONOutput.string)) }

    /// A map with sorted keys.
    static func map<V>(_ values: [String: V], _ transform: (V) -> JSONOutput) -> JSONOutput {
        .object(values.sorted { $0.key < $1.key }.map { Member(key: $0.key, value: transform($0.value)) })
    }

    /// A time as RFC 3339 in UTC; null for zero (unset).
    static func time(unixNanoseconds n: Int64) -> JSONOutput {
        n == 0 ? .null : .string(Formatting.rfc3339(unixNanoseconds: n))
    }

    static func time(_ t: Timestamp?) -> JSONOutput {
        guard let t else { return .null }
        return time(unixNanoseconds: t.unixNanoseconds)
    }

    /// A job specification's document form (the same keys as job files).
    init(_ value: SpecValue) {
        switch value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .integer(Int64(i))
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .list(let items): self = .array(items.map(JSONOutput.init))
        case .map(let pairs): self = .object(pairs.map { Member(key: $0.key, value: JSONOutput($0.value)) })
        }
    }

    /// Pretty-printed with two spaces, ending with a newline.
    func rendered() -> String {
        var out = ""
        write(into: &out, indent: 0)
        return out + "\n"
    }

    private func write(into out: inout String, indent: Int) {
        let pad = String(repeating: "  ", count: indent + 1)
        let close = String(repeating: "  ", count: indent)
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .double(let d): out += d.isFinite ? String(d) : "null"
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                item.write(into: &out, indent: indent + 1)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += close + "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{\n"
            for (i, member) in members.enumerated() {
                out += pad
                Self.quote(member.key, into: &out)
                out += ": "
                member.value.write(into: &out, indent: indent + 1)
                out += i == members.count - 1 ? "\n" : ",\n"
            }
            out += close + "}"
        }
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
