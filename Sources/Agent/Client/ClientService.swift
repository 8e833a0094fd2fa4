import ServiceLifecycle

/// A ``ClientAgent`` as a swift-service-lifecycle `Service`: a graceful
/// shutdown lets go of the allocations without stopping them, so that the
/// client started again reattaches to them.
public struct ClientService: Service {
    public let client: ClientAgent

    public init(client: ClientAgent) {
        self.client = client
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await client.run()
        } onGracefulShutdown: {
            Task { await client.shutdown() }
        }
        // `run()` ends as soon as the shutdown starts; the process must not
        // exit before it has written the runners' last events and closed the store.
        await client.shutdown()
    }
}
