/// Model holds Caravan's domain as plain Codable values: the job
/// specification with its validation, nodes, allocations, evaluations, plans.
///
/// Everything here is a value: `Sendable`, `Hashable`, free of I/O and clocks.
/// Time enters as ``Timestamp`` values chosen by the caller.
public enum Model {}
