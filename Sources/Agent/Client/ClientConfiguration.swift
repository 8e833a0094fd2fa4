import Foundation
import Model
import Transport

/// How one client node runs: which servers it talks to, where it keeps its
/// state and its allocations, and what it tells the servers about itself.
public struct ClientConfiguration: Sendable {
    /// The node's name (its ID is chosen once and kept in the data directory).
    public var name: String
    /// Servers to register with; the node learns the others from them.
    public var servers: [PeerAddress]
    /// Local state (node ID, allocations, buffered status updates) and the
    /// allocations' directories. nil: a fresh temporary directory, state in memory.
    public var dataDirectory: String?
    public var datacenter = "dc1"
    public var nodeClass = ""
    public var nodePool = "default"
    /// Operator metadata, `${meta.KEY}` in constraints.
    public var meta: [String: String] = [:]
    /// Data sets this node holds: name → local directory. Jobs that name a
    /// data set as an input are placed here and see it read-only.
    public var datasets: [String: String] = [:]
    public var security: TransportSecurityConfiguration = .plaintext()
    /// The Docker engine's socket, for the docker driver.
    public var dockerSocket: String?
    /// Resources kept for the node's own processes.
    public var reserved = NodeResources(cpu: 0, memoryMB: 0)
    /// Status updates are sent in batches of at most this many.
    public var statusBatch = 512
    /// Status batches sent at once, each without waiting for the others to commit.
    public var statusBatchesInFlight = 4
    /// Finished allocations kept, state and directory (logs, outputs)
    /// included, before the oldest are collected; one is collected only
    /// after the servers have its final status (Nomad's `gc_max_allocs`).
    public var finishedAllocationsKept = 50

    public init(name: String, servers: [PeerAddress]) {
        self.name = name
        self.servers = servers
    }
}
