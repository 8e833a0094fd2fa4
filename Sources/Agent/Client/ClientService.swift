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
    }
}
