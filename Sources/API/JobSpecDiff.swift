import Model

/// The field-by-field difference between two versions of a job
/// specification, over their document form: what `caravan job plan` shows
/// before the scheduler's placement changes.
///
/// Paths name list items by their `name` when they have one
/// (`groups[web].tasks[server].resources.cpu`), else by index.
public struct JobSpecDiff: Sendable, Hashable {
    /// One field that differs.
    public struct Field: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            case added, removed, changed
        }

        public var path: String
        public var kind: Kind
        /// The old and new values, rendered canonically; nil when absent.
        public var old: String?
        public var new: String?

        public init(path: String, kind: Kind, old: String?, new: String?) {
            self.path = path
            self.kind = kind
            self.old = old
            self.new = new
        }
    }

    /// Every differing field, ordered by path.
    public var fields: [Field]

    public var isEmpty: Bool { fields.isEmpty }

    /// The difference from `old` (nil: a new job) to `new`.
    public init(from old: JobSpec?, to new: JobSpec) {
        let before = old.map { Self.flatten($0.specValue) } ?? [:]
        let after = Self.flatten(new.specValue)
        var fields: [Field] = []
        for path in Set(before.keys).union(after.keys).sorted() {
            switch (before[path], after[path]) {
            case (nil, let value?): fields.append(Field(path: path, kind: .added, old: nil, new: value))
            case (let value?, nil): fields.append(Field(path: path, kind: .removed, old: value, new: nil))
            case (let a?, let b?) where a != b: fields.append(Field(path: path, kind: .changed, old: a, new: b))
            default: break
            }
        }
        self.fields = fields
    }

    /// Leaf path → canonical text of the value.
    static func flatten(_ value: SpecValue, path: String = "", into out: inout [String: String]) {
        switch value {
        case .map(let pairs) where !pairs.isEmpty:
            for pair in pairs {
                flatten(pair.value, path: path.isEmpty ? pair.key : "\(path).\(pair.key)", into: &out)
            }
        case .list(let items) where !items.isEmpty && items.allSatisfy({ if case .map = $0 { true } else { false } }):
            let names = items.map { $0["name"]?.stringValue }
            let byName = names.allSatisfy { $0 != nil } && Set(names.compactMap { $0 }).count == items.count
            for (i, item) in items.enumerated() {
                let label = byName ? names[i] ?? String(i) : String(i)
                flatten(item, path: "\(path)[\(label)]", into: &out)
            }
        default:
            out[path] = value.canonicalText
        }
    }

    static func flatten(_ value: SpecValue) -> [String: String] {
        var out: [String: String] = [:]
        flatten(value, into: &out)
        return out
    }
}
