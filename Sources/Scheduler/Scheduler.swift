/// Scheduler is pure placement and reconciliation:
/// (cluster state snapshot, job, evaluation, time) -> plan.
public enum Scheduler {}
