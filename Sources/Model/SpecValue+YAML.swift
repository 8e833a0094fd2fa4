import Yams

extension SpecValue {
    /// Parses YAML (and therefore JSON, which YAML 1.2 includes) into a tree.
    ///
    /// - Throws: ``JobSpecError`` with one problem at the document root when
    ///   the text is not well-formed, naming the line and column.
    public static func parse(yaml text: String) throws(JobSpecError) -> SpecValue {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw JobSpecError([SpecProblem(path: "", message: "not valid YAML or JSON: \(Self.describe(error))")])
        } catch {
            throw JobSpecError([SpecProblem(path: "", message: "not valid YAML or JSON: \(error)")])
        }
        guard let root else { return .null }
        return SpecValue(yaml: root)
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            "\(problem) at line \(mark.line), column \(mark.column)"
        default:
            "\(error)"
        }
    }

    init(yaml node: Yams.Node) {
        switch node {
        case .scalar(let scalar):
            let tag = Tag.Name(rawValue: node.tag.rawValue)
            let text = scalar.string
            if tag == .null {
                self = .null
            } else if tag == .bool, let b = Bool.construct(from: scalar) {
                self = .bool(b)
            } else if tag == .int, let i = Int(text.replacingUnderscores()) {
                self = .int(i)
            } else if tag == .float, let d = Double.construct(from: scalar) {
                self = .double(d)
            } else {
                self = .string(text)
            }
        case .sequence(let sequence):
            self = .list(sequence.map { SpecValue(yaml: $0) })
        case .mapping(let mapping):
            var pairs: [(key: String, value: SpecValue)] = []
            for (key, value) in mapping {
                pairs.append((key.string ?? "\(key)", SpecValue(yaml: value)))
            }
            self = .map(pairs)
        case .alias:
            self = .null
        }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        contains("_") ? String(filter { $0 != "_" }) : self
    }
}
