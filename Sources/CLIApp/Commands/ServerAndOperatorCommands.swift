import API
import ArgumentParser
import Foundation
import Transport

/// `caravan server`: the servers of the cluster.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Inspect the cluster's servers.", subcommands: [ServerMembersCommand.self])
}

/// `caravan server members`.
struct ServerMembersCommand: ClusterCommand {
    static let configuration = CommandConfiguration(commandName: "members", abstract: "List the servers of the cluster and which one leads.")

    @OptionGroup var global: GlobalOptions

    func execute(_ context: CLIContext) async throws {
        let members = try await context.connection.cluster.members(Caravan_Api_V1_ListMembersRequest()).members
        if context.json {
            Console.json(.array(members.map { .member($0) }))
            return
        }
        var table = Table("Name", "Address", "Status", "Leader", "Voter", "Raft ID", "Region", "Datacenter")
        for m in members {
            table.add(m.name, m.address, m.status, Formatting.yesNo(m.leader), Formatting.yesNo(m.voter), String(m.id), m.region, m.datacenter.isEmpty ? "<none>" : m.datacenter)
        }
        Console.out(table.render())
    }
}

/// `caravan operator`: cluster-wide controls.
struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator", abstract: "Operator controls over the cluster.", subcommands: [Raft.self])

    /// `caravan operator raft`.
    struct Raft: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "raft",
            abstract: "Inspect and change the servers' Raft group. Needs a CLI certificate under mutual TLS.",
            subcommands: [
                RaftListPeersCommand.self, RaftRemovePeerCommand.self, RaftTransferLeaderCommand.self,
                RaftDrainServerCommand.self, RaftLogCommand.self,
            ]
        )
    }
}

/// `caravan operator raft list-peers`.
struct RaftListPeersCommand: ClusterCommand {
    static let configuration = CommandConfiguration(commandName: "list-peers", abstract: "List the Raft group's members as the leader sees them.")

    @OptionGroup var global: GlobalOptions

    func execute(_ context: CLIContext) async throws {
        let peers = try await context.connection.operatorControls.listRaftPeers(Caravan_Api_V1_ListRaftPeersRequest())
        let names = try await RaftPeers.names(context)
        if context.json {
            Console.json(.object([
                "configuration_index": .int(peers.configurationIndex),
                "peers": .array(peers.peers.map { .peer($0, name: names[$0.id]) }),
            ]))
            return
        }
        var table = Table("Node", "ID", "Address", "State", "Voter", "Match Index")
        for p in peers.peers {
            table.add(names[p.id] ?? "<unknown>", String(p.id), p.address, p.leader ? "leader" : "follower", Formatting.yesNo(p.voter), String(p.matchIndex))
        }
        Console.out(table.render())
    }
}

/// Peers named by ID, address or server name.
enum RaftPeers {
    static func names(_ context: CLIContext) async throws -> [UInt64: String] {
        let members = try await context.connection.cluster.members(Caravan_Api_V1_ListMembersRequest()).members
        return Dictionary(members.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
    }

    /// The Raft ID of the peer named by `id`, `address` or `name` (exactly one is given).
    static func resolve(_ context: CLIContext, id: UInt64?, address: String?, name: String?) async throws -> UInt64 {
        if let id { return id }
        let peers = try await context.connection.operatorControls.listRaftPeers(Caravan_Api_V1_ListRaftPeersRequest()).peers
        if let address {
            guard let peer = peers.first(where: { $0.address == address }) else {
                throw CLIError("no Raft peer has the address \(address); peers: \(peers.map(\.address).joined(separator: ", "))")
            }
            return peer.id
        }
        if let name {
            let names = try await Self.names(context)
            guard let id = names.first(where: { $0.value == name })?.key else {
                throw CLIError("no server is named \"\(name)\"; servers: \(names.values.sorted().joined(separator: ", "))")
            }
            return id
        }
        throw CLIError("name the peer with --peer-id, --peer-address or --name")
    }
}

/// `caravan operator raft remove-peer`.
struct RaftRemovePeerCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove-peer",
        abstract: "Remove a server from the Raft group (such as a failed server that will not come back).")

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("peer-id"), help: ArgumentHelp("The peer's Raft ID.", valueName: "id"))
    var peerID: UInt64?
    @Option(name: .customLong("peer-address"), help: ArgumentHelp("The peer's address, as list-peers shows it.", valueName: "host:port"))
    var peerAddress: String?
    @Option(help: ArgumentHelp("The server's name, as `server members` shows it.", valueName: "name"))
    var name: String?

    func validate() throws {
        let given = [peerID != nil, peerAddress != nil, name != nil].filter { $0 }.count
        guard given == 1 else { throw ValidationError("name the peer to remove with exactly one of --peer-id, --peer-address, --name") }
    }

    func execute(_ context: CLIContext) async throws {
        let id = try await RaftPeers.resolve(context, id: peerID, address: peerAddress, name: name)
        var request = Caravan_Api_V1_RemoveRaftPeerRequest()
        request.id = id
        let response = try await context.connection.operatorControls.removeRaftPeer(request)
        if context.json {
            Console.json(.object(["removed_id": .int(id), "index": .int(response.meta.index)]))
        } else {
            Console.out("Removed peer \(id) from the Raft group (index \(response.meta.index))")
        }
    }
}

/// `caravan operator raft transfer-leader`.
struct RaftTransferLeaderCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer-leader",
        abstract: "Hand the Raft leadership to another server.",
        discussion: "Without a peer, the leader picks the most up-to-date voter.",
        aliases: ["transfer-leadership"]
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("peer-id"), help: ArgumentHelp("The Raft ID of the server to lead.", valueName: "id"))
    var peerID: UInt64?
    @Option(name: .customLong("peer-address"), help: ArgumentHelp("The address of the server to lead.", valueName: "host:port"))
    var peerAddress: String?
    @Option(help: ArgumentHelp("The name of the server to lead.", valueName: "name"))
    var name: String?

    func validate() throws {
        let given = [peerID != nil, peerAddress != nil, name != nil].filter { $0 }.count
        guard given <= 1 else { throw ValidationError("give at most one of --peer-id, --peer-address, --name") }
    }

    func execute(_ context: CLIContext) async throws {
        var request = Caravan_Api_V1_TransferLeadershipRequest()
        if peerID != nil || peerAddress != nil || name != nil {
            request.targetID = try await RaftPeers.resolve(context, id: peerID, address: peerAddress, name: name)
        }
        let response = try await context.connection.operatorControls.transferLeadership(request)
        let names = (try? await RaftPeers.names(context)) ?? [:]
        let leader = names[response.newLeaderID].map { "\($0) (\(response.newLeaderID))" } ?? String(response.newLeaderID)
        if context.json {
            Console.json(.object(["new_leader_id": .int(response.newLeaderID), "new_leader_name": names[response.newLeaderID].map(JSONOutput.string)]))
        } else if request.targetID != 0 && response.newLeaderID != request.targetID {
            throw CLIError("leadership moved to \(leader), not to the requested peer \(request.targetID)")
        } else {
            Console.out("Leadership transferred to \(leader)")
        }
    }
}

/// `caravan operator raft drain-server`.
struct RaftDrainServerCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain-server",
        abstract: "Prepare a server for maintenance: make it a learner that no longer counts toward quorum.",
        discussion: """
            A leading server first hands its leadership to another voter. The drained server keeps \
            receiving the log; --disable makes it a voter again. Draining the only voter is refused.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The server's Raft ID, as list-peers shows it.", valueName: "id"))
    var id: UInt64
    @Flag(help: "Undrain: make the server a voter again.")
    var disable = false

    func execute(_ context: CLIContext) async throws {
        var request = Caravan_Api_V1_DrainServerRequest()
        request.id = id
        request.disable = disable
        let response = try await context.connection.operatorControls.drainServer(request)
        if context.json {
            Console.json(.object([
                "id": .int(id), "voter": .bool(response.voter), "leader_id": .int(response.leaderID), "index": .int(response.meta.index),
            ]))
        } else if disable {
            Console.out("Server \(id) is a voter again (index \(response.meta.index))")
        } else {
            Console.out("Server \(id) is drained: a learner, not counted toward quorum; server \(response.leaderID) leads (index \(response.meta.index))")
        }
    }
}

/// `caravan operator raft log`.
struct RaftLogCommand: ClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Show the Raft log of the server addressed (each server answers with its own log).",
        discussion: "Entries before the first index were compacted into the server's latest snapshot."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The first index to show; without it, the last --limit entries.", valueName: "index"))
    var from: UInt64?
    @Option(help: ArgumentHelp("At most this many entries (the server caps it at 1000).", valueName: "n"))
    var limit: UInt32 = 100

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
    }

    func execute(_ context: CLIContext) async throws {
        var request = Caravan_Api_V1_ReadRaftLogRequest()
        request.fromIndex = from ?? 0
        request.limit = limit
        let log = try await context.connection.operatorControls.readRaftLog(request)
        if context.json {
            Console.json(.object([
                "server_id": .int(log.serverID), "first_index": .int(log.firstIndex),
                "last_index": .int(log.lastIndex), "commit_index": .int(log.commitIndex),
                "entries": .array(log.entries.map { e in
                    .object([
                        "index": .int(e.index), "term": .int(e.term), "kind": .string(e.kind),
                        "size": .int(e.size), "summary": .string(e.summary),
                    ])
                }),
            ]))
            return
        }
        Console.out("Server \(log.serverID): first index \(log.firstIndex), last index \(log.lastIndex), commit index \(log.commitIndex)")
        var table = Table("Index", "Term", "Kind", "Size", "Summary")
        for e in log.entries {
            table.add(String(e.index), String(e.term), e.kind, String(e.size), e.summary)
        }
        Console.out(table.render())
    }
}
