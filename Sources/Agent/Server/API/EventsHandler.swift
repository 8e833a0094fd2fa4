import Foundation
import API
import GRPCCore
import Model
import Transport

/// The `Events` gRPC service: a stream of state changes from an index on,
/// resumable, with a heartbeat batch (no events) every `heartbeat` so that an
/// idle subscriber still learns how far the state is.
struct EventsHandler: Caravan_Api_V1_Events.SimpleServiceProtocol {
    let events: EventBroker
    var heartbeat: Duration = .seconds(10)

    func subscribe(
        request: Caravan_Api_V1_SubscribeRequest, response: RPCWriter<Caravan_Api_V1_EventBatch>, context: ServerContext
    ) async throws {
        let filter = EventMatcher(request)
        let stream: AsyncThrowingStream<EventBroker.Batch, any Error>
        do {
            stream = try events.subscribe(fromIndex: request.fromIndex)
        } catch {
            throw RPCError(code: .outOfRange, message: error.description)
        }
        // Say where the stream starts, so a subscriber from 0 learns the index.
        var first = Caravan_Api_V1_EventBatch()
        first.index = max(request.fromIndex, events.latestIndex)
        try await response.write(first)
        let heartbeat = self.heartbeat
        let beats = AsyncStream<Void> { continuation in
            let task = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: heartbeat)
                    continuation.yield()
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await batch in stream {
                        var wire = Caravan_Api_V1_EventBatch()
                        wire.index = batch.index
                        wire.events = batch.events.filter(filter.matches).map { Self.wire($0, packed: request.packed) }
                        if !wire.events.isEmpty { try await response.write(wire) }
                    }
                } catch let error as EventStreamError {
                    throw RPCError(code: .outOfRange, message: error.description)
                }
            }
            group.addTask {
                for await _ in beats {
                    var wire = Caravan_Api_V1_EventBatch()
                    wire.index = events.latestIndex
                    try await response.write(wire)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The event as the subscriber asked for it: its value as Packed, or as
    /// JSON (which is Packed first, then turned into text: half the cost of
    /// an event stream to the server that serves it).
    static func wire(_ event: StateEvent, packed: Bool) -> Caravan_Api_V1_Event {
        var wire = Caravan_Api_V1_Event()
        wire.topic = event.topic
        wire.type = event.type
        wire.key = event.key
        wire.namespace = event.namespace
        func put(_ value: some Encodable) {
            if packed, let bytes = try? Packed.encode(value) {
                wire.payloadPacked = Data(bytes)
            } else {
                wire.payloadJson = WireJSON.encode(value)
            }
        }
        switch event {
        case .job(let job, _): put(job)
        case .evaluation(let e, _): put(e)
        case .allocation(let a, _): put(a)
        case .node(let n, _): put(n)
        }
        return wire
    }
}

/// Which events a subscription asked for.
struct EventMatcher: Sendable {
    let namespace: String
    let filters: [(topic: String, keys: Set<String>)]

    init(_ request: Caravan_Api_V1_SubscribeRequest) {
        namespace = request.namespace.isEmpty ? "default" : request.namespace
        filters = request.filters.map { f in
            (f.topic.isEmpty ? "*" : f.topic, Set(f.keys.filter { $0 != "*" }))
        }
    }

    func matches(_ event: StateEvent) -> Bool {
        if !event.namespace.isEmpty, namespace != "*", event.namespace != namespace { return false }
        guard !filters.isEmpty else { return true }
        return filters.contains { f in
            (f.topic == "*" || f.topic == event.topic) && (f.keys.isEmpty || f.keys.contains(event.key))
        }
    }
}
