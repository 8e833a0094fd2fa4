import Model

/// One allocation the reconciler wants placed.
struct PlacementRequest {
    var group: String
    var index: Int
    /// The allocation it replaces (lost, failed, migrated, updated).
    var previous: Allocation?
    /// Set when it is a reschedule of a failed allocation.
    var reschedule: RescheduleEvent?
    var canary = false
    var deploymentID: DeploymentID?
    /// For system jobs: the one node it must go to.
    var node: Int?
    /// Counted in desired changes as this kind.
    var kind: Kind = .place

    enum Kind { case place, destructiveUpdate, migrate, lost, reschedule, canary, disconnectReplacement }
}
