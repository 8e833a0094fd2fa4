import Foundation
import RaftCore
import Transport

/// A Raft peer in a separate process, for TransportTests and the
/// TransportThroughput benchmark. It serves the Raft service on 127.0.0.1 at a
/// port it picks and prints as `LISTENING <port>`, and answers every message it
/// receives through its own ``PeerTransport`` to the node named by
/// `--reply-to`:
/// - `--reply echo`: the same message with `from` and `to` swapped;
/// - `--reply ack`: what a follower would answer (append → appendResponse at
///   the last index, heartbeat → heartbeatResponse, …), small whatever came in.
///
/// Usage: `TransportTestPeer --id 2 --reply-to 1@127.0.0.1:PORT --reply echo
/// [--ca F --cert F --key F] [--region R]`. Without `--ca` it runs plaintext.
/// It exits when its standard input closes.
@main
struct TransportTestPeer {
    static func main() async {
        do {
            try await run(Arguments(CommandLine.arguments.dropFirst()))
        } catch {
            FileHandle.standardError.write(Data("TransportTestPeer: \(error)\n".utf8))
            exit(2)
        }
    }

    struct Arguments {
        var id: NodeID = 2
        var replyID: NodeID = 1
        var replyAddress: PeerAddress?
        var echo = true
        var files: TLSFiles?
        var region = "global"

        init(_ arguments: ArraySlice<String>) throws {
            var ca: String?, cert: String?, key: String?
            var iterator = arguments.makeIterator()
            while let flag = iterator.next() {
                guard let value = iterator.next() else { throw UsageError("\(flag) needs a value") }
                switch flag {
                case "--id": id = NodeID(value) ?? 0
                case "--reply-to":
                    let parts = value.split(separator: "@", maxSplits: 1)
                    guard parts.count == 2, let replyID = NodeID(parts[0]), let address = PeerAddress(String(parts[1])) else {
                        throw UsageError("--reply-to takes ID@HOST:PORT")
                    }
                    self.replyID = replyID
                    replyAddress = address
                case "--reply": echo = value == "echo"
                case "--ca": ca = value
                case "--cert": cert = value
                case "--key": key = value
                case "--region": region = value
                default: throw UsageError("unknown flag \(flag)")
                }
            }
            if let ca, let cert, let key { files = TLSFiles(caPath: ca, certificatePath: cert, keyPath: key) }
        }
    }

    struct UsageError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func run(_ arguments: Arguments) async throws {
        let security = try arguments.files.map { try TransportSecurityConfiguration.mutualTLS($0, region: arguments.region) }
            ?? .plaintext(region: arguments.region)
        var configuration = PeerTransport.Configuration(localID: arguments.id)
        configuration.backoff = Backoff(initial: .milliseconds(20), maximum: .seconds(1))
        let peers = PeerTransport(configuration: configuration, security: security)
        if let address = arguments.replyAddress { peers.setPeer(arguments.replyID, address: address) }
        let echo = arguments.echo
        let authorizer = PeerAuthorizer.requiring([.server], under: security)
        let listener = try await RaftListener(host: "127.0.0.1", port: 0, security: security, authorizer: authorizer) { messages in
            for message in messages {
                peers.send(echo ? echoed(message) : answer(to: message))
            }
        }
        let service = RaftService(authorizer: authorizer, raftPort: listener.port)
        let endpoint = ServerEndpoint(host: "127.0.0.1", port: 0, security: security, services: [service])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            group.addTask { await peers.run() }
            let port = try await endpoint.listeningPort
            FileHandle.standardOutput.write(Data("LISTENING \(port)\n".utf8))
            // Runs until the parent closes our standard input (read on a plain
            // thread: blocking a thread of the two-thread cooperative pool
            // would halve what this process can do).
            Thread.detachNewThread {
                while (try? FileHandle.standardInput.read(upToCount: 4096))?.isEmpty == false {}
                exit(0)
            }
            _ = try await group.next()
        }
    }

    static func echoed(_ message: Message) -> Message {
        var reply = message
        reply.from = message.to
        reply.to = message.from
        return reply
    }

    static func answer(to message: Message) -> Message {
        var reply = Message(type: .heartbeatResponse, from: message.to, to: message.from, term: message.term)
        switch message.type {
        case .append:
            reply.type = .appendResponse
            reply.index = message.entries.last?.index ?? message.index
        case .snapshot:
            reply.type = .snapshotResponse
            reply.index = (message.snapshot?.offset ?? 0) + UInt64(message.snapshot?.data.count ?? 0)
        case .vote: reply.type = .voteResponse
        case .preVote: reply.type = .preVoteResponse
        case .readIndex:
            reply.type = .readIndexResponse
            reply.context = message.context
        default:
            reply.context = message.context
        }
        return reply
    }
}
