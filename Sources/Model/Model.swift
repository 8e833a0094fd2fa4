/// Model holds Caravan's domain as plain Codable values: the job
/// specification with its validation, nodes, allocations, evaluations, plans.
public enum Model {}
