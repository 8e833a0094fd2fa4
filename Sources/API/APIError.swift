/// A problem the client library found, said plainly (what was wrong, and
/// what to do where useful): a job without allocations, an ambiguous task, …
public struct APIError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
