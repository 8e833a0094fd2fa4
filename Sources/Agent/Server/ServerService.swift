import ServiceLifecycle

/// A ``Server`` as a swift-service-lifecycle `Service`: a graceful shutdown
/// (SIGTERM or SIGINT in a `ServiceGroup`) runs ``Server/shutdown()``, which
/// hands over leadership and finishes in-flight writes.
public struct ServerService: Service {
    public let server: Server

    public init(server: Server) {
        self.server = server
    }

    /// Returns when the server has shut down: `Server.run()` ends as soon as
    /// the endpoint stops, while the shutdown still writes and closes the
    /// store, and the process exits once every service has returned.
    public func run() async throws {
        do {
            try await withGracefulShutdownHandler {
                try await server.run()
            } onGracefulShutdown: {
                Task { await server.shutdown() }
            }
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
    }
}
