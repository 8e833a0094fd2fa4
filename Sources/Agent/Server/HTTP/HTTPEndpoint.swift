import Hummingbird
import Logging

/// The server's HTTP port (Hummingbird 2): health checks today; the REST
/// API, metrics and web UI will live here too, over the same ``ControlPlane``.
///
/// - `GET /health/live`: 200 while the process serves at all.
/// - `GET /health/ready`: 200 once a leader is known and this server has
///   applied its commit index; 503 with the reason otherwise.
struct HTTPEndpoint: Sendable {
    let plane: ControlPlane
    let host: String
    let port: Int
    let logger: Logger

    /// Serves until cancelled.
    func run() async throws {
        let router = Router()
        router.get("/health/live") { _, _ in "ok\n" }
        router.get("/health/ready") { [plane] _, _ -> Response in
            let readiness = await plane.readiness()
            let body = (readiness.ready ? "ready" : "not ready: \(readiness.reason)") + "\n"
            return Response(
                status: readiness.ready ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "caravand"),
            logger: logger)
        try await application.run()
    }
}
