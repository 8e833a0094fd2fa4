import ServiceLifecycle

/// A ``Server`` as a swift-service-lifecycle `Service`: a graceful shutdown
/// (SIGTERM or SIGINT in a `ServiceGroup`) runs ``Server/shutdown()``, which
/// hands over leadership and finishes in-flight writes.
public struct ServerService: Service {
    public let server: Server

    public init(server: Server) {
        self.server = server
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.run()
        } onGracefulShutdown: {
            Task { await server.shutdown() }
        }
    }
}
