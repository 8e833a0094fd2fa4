import Transport

/// How one server runs: who it is, where it listens, who its peers are,
/// where it keeps its state.
public struct ServerConfiguration: Sendable {
    /// This server's name; its Raft node id is derived from it (``nodeID(forName:)``).
    public var name: String
    public var region = "global"
    public var datacenter = "dc1"
    /// The address the gRPC port binds (`0.0.0.0` for every interface).
    public var bindHost = "127.0.0.1"
    /// The gRPC port: the public API, the node API, and where peers ask for
    /// the Raft port. 0 picks a free one.
    public var grpcPort = 7647
    /// The Raft port: replication traffic between servers (mutual TLS when
    /// configured), on `bindHost`. 0 (the default) picks a free one; peers
    /// learn it through the gRPC port. Give a fixed one where a firewall
    /// must know it.
    public var raftPort = 0
    /// The HTTP port: health checks (and later the REST API, metrics, UI). nil: no HTTP port.
    public var httpPort: Int? = 7646
    /// The address peers and forwarded requests reach this server at; nil: bind host and port.
    public var advertise: PeerAddress?
    /// The servers of a new cluster, this one included, by name. Used once, to
    /// bootstrap a pristine data directory; later the replicated membership rules.
    public var peers: [String: PeerAddress] = [:]
    /// Servers of an existing cluster to ask to add this one (instead of `peers`).
    public var join: [PeerAddress] = []
    /// Where the Raft log, hard state and snapshots live; nil keeps them in memory.
    public var dataDirectory: String?
    public var security: TransportSecurityConfiguration = .plaintext()
    /// Raft's clock: elections time out after 10 to 20 ticks, heartbeats every tick.
    public var tickInterval: Duration = .milliseconds(50)
    /// Scheduler workers on the leader.
    /// (Their plans are verified against each other's in flight, so more
    /// workers pipeline more Raft rounds rather than racing for nodes.)
    /// A worker is a task that spends most of an evaluation waiting for its
    /// plan's Raft round, not a thread: eight held a flood of short jobs to
    /// eight evaluations per round trip, seconds behind the submitters, while
    /// the CPUs idled. 16 keep up with it; 32 did no better there and cost
    /// registrations more server CPU each (RegistrationThroughput).
    public var schedulerWorkers = 16
    /// Snapshot and compact the log after this many applied entries, or
    /// `snapshotBytes` of them; never before the log since the last snapshot
    /// is as large as that snapshot (see ``RaftDriver``).
    ///
    /// Each snapshot encodes the whole state, so the count is etcd's
    /// (`--snapshot-count` 100,000): at 10,000, a 10,000-job run spent about
    /// 16% of a server's CPU encoding snapshots.
    public var snapshotEvery = Self.defaultSnapshotEvery
    public var snapshotBytes = Self.defaultSnapshotBytes
    public static let defaultSnapshotEvery: UInt64 = 100_000
    public static let defaultSnapshotBytes = 64 << 20
    /// The largest job specification accepted, in bytes.
    public var maxSpecBytes = 1 << 20
    /// The shortest heartbeat TTL given to client nodes (it grows with their
    /// number); a node silent for longer is marked down or disconnected.
    public var heartbeatTTL: Duration = .seconds(10)

    public init(name: String) {
        self.name = name
    }

    /// The Raft node id of the server named `name`: a 64-bit FNV-1a hash of
    /// the name (never 0), so that configuration can speak in names.
    public static func nodeID(forName name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash == 0 ? 1 : hash
    }

    public var nodeID: UInt64 { Self.nodeID(forName: name) }
}
