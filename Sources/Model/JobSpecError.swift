/// One problem found in a job specification, at a field path such as
/// `groups[0].tasks[1].resources.memory_mb`.
public struct SpecProblem: Hashable, Sendable, CustomStringConvertible {
    /// Where the problem is: dotted keys and `[index]` for list items; empty
    /// for the document itself.
    public var path: String
    /// What is wrong, and where useful what to write instead.
    public var message: String

    /// A problem at `path`.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message`.
    public var description: String {
        path.isEmpty ? message : "\(path): \(message)"
    }
}

/// A job specification that could not be accepted. It lists every problem
/// found, not only the first, each with its field path.
public struct JobSpecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// All problems, in document order.
    public var problems: [SpecProblem]

    /// An error holding `problems`.
    public init(_ problems: [SpecProblem]) {
        self.problems = problems
    }

    /// One line per problem.
    public var description: String {
        let noun = problems.count == 1 ? "problem" : "problems"
        return "job specification has \(problems.count) \(noun):\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// Collects problems while a document is read, so that all are reported at once.
final class SpecDiagnostics {
    var problems: [SpecProblem] = []

    func report(_ path: String, _ message: String) {
        problems.append(SpecProblem(path: path, message: message))
    }
}

/// Joins a field path and a key: `groups[0]` + `count` → `groups[0].count`.
func childPath(_ path: String, _ key: String) -> String {
    path.isEmpty ? key : "\(path).\(key)"
}
