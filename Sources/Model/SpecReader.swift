/// Reads one map of a document strictly: every key asked for is "known";
/// keys never asked for are reported as unknown, with a suggestion.
/// Type mismatches are reported with their path and read as absent, so that
/// reading goes on and every problem is found in one pass.
///
/// Opaque outside Model: it appears in ``SpecMappable`` only.
public struct SpecReader {
    let path: String
    private let pairs: [(key: String, value: SpecValue)]
    private var known: [String] = []
    /// Which of the first 64 pairs a key asked for found (the rest, and any
    /// pair not found, ``finish()`` looks up in `known`).
    private var found: UInt64 = 0
    let diagnostics: SpecDiagnostics

    /// A reader of `value`, which must be a map (null reads as an empty map).
    init(_ value: SpecValue, path: String, diagnostics: SpecDiagnostics) {
        self.path = path
        self.diagnostics = diagnostics
        switch value {
        case .map(let pairs):
            self.pairs = pairs
            // Most maps are small, and comparing their pairs beats hashing
            // every key into a set (a quarter of reading a specification);
            // a large map is hashed, so the check never grows quadratic.
            var seen = Set<String>()
            for (i, pair) in pairs.enumerated() {
                let repeated = pairs.count <= 16 ? pairs[..<i].contains { $0.key == pair.key } : !seen.insert(pair.key).inserted
                if repeated { diagnostics.report(childPath(path, pair.key), "duplicate key") }
            }
        case .null:
            self.pairs = []
        default:
            self.pairs = []
            diagnostics.report(path, "must be a map, not \(value.kindDescription)")
        }
    }

    func report(_ key: String, _ message: String) {
        diagnostics.report(childPath(path, key), message)
    }

    /// The raw value at `key`; nil when absent or null. Marks `key` known.
    mutating func value(_ key: String) -> SpecValue? {
        if known.isEmpty { known.reserveCapacity(24) }
        known.append(key)
        guard let i = pairs.firstIndex(where: { $0.key == key }) else { return nil }
        if i < 64 { found |= 1 << i }
        if case .null = pairs[i].value { return nil }
        return pairs[i].value
    }

    /// Whether `key` is present (and not null). Does not mark it known.
    func has(_ key: String) -> Bool {
        guard let v = pairs.first(where: { $0.key == key })?.value else { return false }
        if case .null = v { return false }
        return true
    }

    mutating func string(_ key: String) -> String? {
        guard let v = value(key) else { return nil }
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        default:
            report(key, "must be a string, not \(v.kindDescription)")
            return nil
        }
    }

    mutating func int(_ key: String) -> Int? {
        guard let v = value(key) else { return nil }
        switch v {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e18: return Int(d)
        case .string(let s) where Int(s) != nil: return Int(s)
        default:
            report(key, "must be an integer, not \(v.kindDescription)")
            return nil
        }
    }

    mutating func bool(_ key: String) -> Bool? {
        guard let v = value(key) else { return nil }
        switch v {
        case .bool(let b): return b
        case .string("true"): return true
        case .string("false"): return false
        default:
            report(key, "must be true or false, not \(v.kindDescription)")
            return nil
        }
    }

    mutating func duration(_ key: String) -> Duration? {
        guard let v = value(key) else { return nil }
        switch v {
        case .string(let s):
            if let d = Duration(nomad: s) { return d }
            report(key, "\"\(s)\" is not a duration; write one such as \"30s\", \"5m\" or \"1h30m\"")
        case .int(0):
            return .zero
        default:
            report(key, "must be a duration such as \"30s\", \"5m\" or \"1h30m\", not \(v.kindDescription)")
        }
        return nil
    }

    mutating func stringList(_ key: String) -> [String]? {
        guard let v = value(key) else { return nil }
        if case .string(let s) = v { return [s] }
        guard case .list(let items) = v else {
            report(key, "must be a list of strings, not \(v.kindDescription)")
            return nil
        }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            switch item {
            case .string(let s): out.append(s)
            case .int(let n): out.append(String(n))
            default: diagnostics.report("\(childPath(path, key))[\(i)]", "must be a string, not \(item.kindDescription)")
            }
        }
        return out
    }

    mutating func stringMap(_ key: String) -> [String: String]? {
        guard let v = value(key) else { return nil }
        guard case .map(let pairs) = v else {
            report(key, "must be a map of strings, not \(v.kindDescription)")
            return nil
        }
        var out: [String: String] = [:]
        for pair in pairs {
            switch pair.value {
            case .string(let s): out[pair.key] = s
            case .int(let n): out[pair.key] = String(n)
            case .double(let d): out[pair.key] = String(d)
            case .bool(let b): out[pair.key] = b ? "true" : "false"
            default:
                diagnostics.report(childPath(childPath(path, key), pair.key),
                                   "must be a string, not \(pair.value.kindDescription)")
            }
        }
        return out
    }

    /// A value of a string enumeration, with a suggestion when misspelt.
    mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) -> E?
    where E.RawValue == String {
        guard let s = string(key) else { return nil }
        if let e = E(rawValue: s) { return e }
        let all = E.allCases.map(\.rawValue)
        var message = "\"\(s)\" is not one of \(all.map { "\"\($0)\"" }.joined(separator: ", "))"
        if let near = suggestion(for: s, among: all) { message += "; did you mean \"\(near)\"?" }
        report(key, message)
        return nil
    }

    /// A nested map read by `read`.
    mutating func object<T>(_ key: String, _ read: (inout SpecReader) -> T) -> T? {
        guard let v = value(key) else { return nil }
        guard case .map = v else {
            report(key, "must be a map, not \(v.kindDescription)")
            return nil
        }
        var reader = SpecReader(v, path: childPath(path, key), diagnostics: diagnostics)
        let result = read(&reader)
        reader.finish()
        return result
    }

    /// A list of maps, each read by `read`.
    mutating func objects<T>(_ key: String, _ read: (inout SpecReader) -> T) -> [T]? {
        guard let v = value(key) else { return nil }
        guard case .list(let items) = v else {
            report(key, "must be a list, not \(v.kindDescription)")
            return nil
        }
        var out: [T] = []
        for (i, item) in items.enumerated() {
            let itemPath = "\(childPath(path, key))[\(i)]"
            guard case .map = item else {
                diagnostics.report(itemPath, "must be a map, not \(item.kindDescription)")
                continue
            }
            var reader = SpecReader(item, path: itemPath, diagnostics: diagnostics)
            out.append(read(&reader))
            reader.finish()
        }
        return out
    }

    /// Reports keys that were never asked for.
    func finish() {
        for (i, pair) in pairs.enumerated() where (i >= 64 || found & (1 << i) == 0) && !known.contains(pair.key) {
            var message = "unknown key"
            if let near = suggestion(for: pair.key, among: known) {
                message += "; did you mean \"\(near)\"?"
            } else {
                message += "; known keys here: \(known.joined(separator: ", "))"
            }
            diagnostics.report(childPath(path, pair.key), message)
        }
    }
}

/// Builds a document map, leaving out absent values.
struct SpecWriter {
    private(set) var pairs: [(key: String, value: SpecValue)] = []

    mutating func put(_ key: String, _ value: SpecValue?) {
        if let value { pairs.append((key, value)) }
    }
    mutating func put(_ key: String, _ value: String?) {
        if let value { pairs.append((key, .string(value))) }
    }
    mutating func put(_ key: String, _ value: Int?) {
        if let value { pairs.append((key, .int(value))) }
    }
    mutating func put(_ key: String, _ value: Bool?) {
        if let value { pairs.append((key, .bool(value))) }
    }
    mutating func put(_ key: String, _ value: Duration?) {
        if let value { pairs.append((key, .string(value.nomadText))) }
    }
    mutating func put(_ key: String, _ value: [String], omitEmpty: Bool = true) {
        if !(omitEmpty && value.isEmpty) { pairs.append((key, .list(value.map { .string($0) }))) }
    }
    mutating func put(_ key: String, _ value: [String: String]) {
        if !value.isEmpty {
            pairs.append((key, .map(value.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
    }
    mutating func put<T: SpecMappable>(_ key: String, _ value: T?) {
        if let value { pairs.append((key, value.specValue)) }
    }
    mutating func put<T: SpecMappable>(_ key: String, _ values: [T]) {
        if !values.isEmpty { pairs.append((key, .list(values.map(\.specValue)))) }
    }

    var value: SpecValue { .map(pairs) }
}

/// A value read strictly from, and written to, the document form of a job
/// specification. Its `Codable` conformance goes through that form, so JSON
/// and YAML encodings use the same snake_case keys and Nomad-style durations
/// as job files, and decoding rejects unknown keys.
public protocol SpecMappable: Codable {
    /// Reads the value with service-job defaults.
    static func read(from reader: inout SpecReader) -> Self
    /// The document form.
    var specValue: SpecValue { get }
}

extension SpecMappable {
    /// Decodes strictly from the document form, reporting every problem.
    public init(from decoder: any Decoder) throws {
        let tree = try SpecValue(from: decoder)
        self = try Self.init(document: tree)
    }

    /// Reads the value from a document tree, reporting every problem at once.
    public init(document tree: SpecValue) throws(JobSpecError) {
        let diagnostics = SpecDiagnostics()
        var reader = SpecReader(tree, path: "", diagnostics: diagnostics)
        let value = Self.read(from: &reader)
        reader.finish()
        if !diagnostics.problems.isEmpty { throw JobSpecError(diagnostics.problems) }
        self = value
    }

    /// Encodes the document form.
    public func encode(to encoder: any Encoder) throws {
        try specValue.encode(to: encoder)
    }
}
