import API
import Foundation
import GRPCCore
import Model
import Testing
import Transport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The HTTP health checks and the event stream of a real server.
@Suite(.serialized) struct ServerAPITests {
    /// GET `path` on the server's HTTP port: (status, body).
    static func get(_ server: ServerProcess, _ path: String) async throws -> (Int, String) {
        let url = URL(string: "http://127.0.0.1:\(server.httpPort)\(path)")!
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func healthLiveAnswersAndReadyWaitsForALeader() async throws {
        try await withCluster(size: 3, durable: false) { cluster in
            // One server alone cannot elect a leader: live but not ready.
            let alone = cluster.servers[0]
            for other in cluster.servers.dropFirst() { other.pause() }
            try await eventually("s1 serves HTTP") { (try await Self.get(alone, "/health/live")).0 == 200 }
            let notReady = try await Self.get(alone, "/health/ready")
            #expect(notReady.0 == 503)
            #expect(notReady.1.contains("no leader"), "\(notReady.1)")
            for other in cluster.servers.dropFirst() { other.resume() }
            _ = try await cluster.leader()
            for server in cluster.servers {
                try await eventually("\(server.name) is ready") { (try await Self.get(server, "/health/ready")).0 == 200 }
            }
        }
    }

    /// Collects events from `server` until `until` holds for what was received.
    static func collect(
        _ server: ServerProcess, from index: UInt64, filters: [Caravan_Api_V1_EventFilter] = [], packed: Bool = false,
        started: @escaping @Sendable () -> Void = {},
        until: @escaping @Sendable ([Caravan_Api_V1_Event]) -> Bool
    ) async throws -> (events: [Caravan_Api_V1_Event], startIndex: UInt64) {
        var request = Caravan_Api_V1_SubscribeRequest()
        request.fromIndex = index
        request.filters = filters
        request.packed = packed
        var options = CallOptions.defaults
        options.timeout = .seconds(20)
        return try await server.connection.events.subscribe(request, options: options) { response in
            var events: [Caravan_Api_V1_Event] = []
            var start: UInt64?
            for try await batch in response.messages {
                if start == nil {
                    start = batch.index
                    started()
                }
                events += batch.events
                if until(events) { break }
            }
            return (events, start ?? 0)
        }
    }

    @Test func theEventStreamShowsChangesLiveAndResumesFromAnIndex() async throws {
        try await withCluster(size: 1, durable: false) { cluster in
            let server = try await cluster.leader()
            let first = try await cluster.register("watched-1", through: server)
            // Live: once the subscription is open (its first batch arrived), register; the event arrives.
            let (opened, open) = AsyncStream<Void>.makeStream()
            var jobs = Caravan_Api_V1_EventFilter()
            jobs.topic = "Job"
            let live = Task { [jobs] in
                try await Self.collect(server, from: 0, filters: [jobs], started: { open.yield() }) { events in
                    events.contains { $0.key == "watched-2" }
                }
            }
            for await _ in opened { break }
            try await cluster.register("watched-2", through: server)
            let (liveEvents, start) = try await live.value
            #expect(start >= first.meta.index, "a subscription from 0 starts at the current index")
            #expect(liveEvents.allSatisfy { $0.topic == "Job" })
            let registered = try #require(liveEvents.first { $0.key == "watched-2" })
            #expect(registered.type == "JobRegistered")
            #expect(String(decoding: registered.payloadJson, as: UTF8.self).contains("watched-2"))

            // Resumed from before the first registration: both jobs, in index order.
            let (resumed, _) = try await Self.collect(server, from: first.meta.index - 1) { events in
                Set(events.filter { $0.topic == "Job" }.map(\.key)).isSuperset(of: ["watched-1", "watched-2"])
            }
            let jobEvents = resumed.filter { $0.topic == "Job" }
            #expect(jobEvents.map(\.key).prefix(2) == ["watched-1", "watched-2"])
            #expect(zip(resumed, resumed.dropFirst()).allSatisfy { $0.index <= $1.index })
            #expect(resumed.contains { $0.topic == "Evaluation" && $0.type == "EvaluationUpdated" })

            // Asked for Packed payloads: the same values, in payload_packed only.
            let (packed, _) = try await Self.collect(server, from: first.meta.index - 1, filters: [jobs], packed: true) { events in
                Set(events.map(\.key)).isSuperset(of: ["watched-1", "watched-2"])
            }
            #expect(packed.allSatisfy { $0.payloadJson.isEmpty && !$0.payloadPacked.isEmpty })
            let fromJSON = try jobEvents.prefix(2).map { try $0.payload(as: Job.self) }
            let fromPacked = try packed.prefix(2).map { try $0.payload(as: Job.self) }
            #expect(fromPacked == fromJSON)
            #expect(fromPacked.map(\.spec.id) == ["watched-1", "watched-2"])
        }
    }
}
