import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Foundation

/// A small client of the Docker Engine API over its unix socket.
struct DockerClient: Sendable {
    /// The engine's socket.
    let socketPath: String
    let http: HTTPClient

    /// An engine answer that was not a success.
    struct Failure: Error, CustomStringConvertible {
        var status: Int
        var message: String
        var description: String { "Docker engine answered \(status): \(message)" }
    }

    func url(_ path: String) -> String {
        let host = socketPath.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? socketPath
        return "http+unix://\(host)\(path)"
    }

    /// Sends a request and collects the answer (up to 16 MiB).
    func send(_ method: HTTPMethod, _ path: String, json body: JSONValue? = nil, timeout: Duration = .seconds(60)) async throws -> (status: Int, body: JSONValue?, text: String) {
        var request = HTTPClientRequest(url: url(path))
        request.method = method
        // Unix-socket URLs carry no host; the engine insists on one.
        request.headers.add(name: "Host", value: "docker")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(Array(try JSONEncoder().encode(body)))
        }
        let seconds = Int64(timeout.components.seconds)
        let response = try await http.execute(request, timeout: .seconds(max(1, seconds)))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        let bytes = Array(buffer.readableBytesView)
        let text = String(decoding: bytes, as: UTF8.self)
        let json = bytes.isEmpty ? nil : try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        return (Int(response.status.code), json, text)
    }

    /// Sends a request and throws ``Failure`` unless the status is 2xx (or one of `allowed`).
    @discardableResult
    func expect(_ method: HTTPMethod, _ path: String, json body: JSONValue? = nil, allowing allowed: Set<Int> = [], timeout: Duration = .seconds(60)) async throws -> (status: Int, body: JSONValue?) {
        let answer = try await send(method, path, json: body, timeout: timeout)
        guard (200..<300).contains(answer.status) || allowed.contains(answer.status) else {
            let message = answer.body?["message"]?.stringValue ?? answer.text.trimmingCharacters(in: .whitespacesAndNewlines)
            throw Failure(status: answer.status, message: message)
        }
        return (answer.status, answer.body)
    }

    /// Streams the answer's body to `consume` until the engine ends it.
    func stream(_ method: HTTPMethod, _ path: String, consume: ([UInt8]) throws -> Void) async throws -> Int {
        var request = HTTPClientRequest(url: url(path))
        request.method = method
        // Unix-socket URLs carry no host; the engine insists on one.
        request.headers.add(name: "Host", value: "docker")
        let response = try await http.execute(request, timeout: .hours(24 * 365))
        let status = Int(response.status.code)
        for try await buffer in response.body {
            try consume(Array(buffer.readableBytesView))
        }
        return status
    }
}

/// Splits Docker's multiplexed log stream (8-byte frame headers: stream, 0, 0, 0, size) into stdout and stderr.
struct DockerLogDemultiplexer {
    private var pending: [UInt8] = []

    mutating func feed(_ bytes: [UInt8], stdout: ([UInt8]) -> Void, stderr: ([UInt8]) -> Void) {
        pending += bytes
        var start = 0
        while pending.count - start >= 8 {
            let size = Int(pending[start + 4]) << 24 | Int(pending[start + 5]) << 16 | Int(pending[start + 6]) << 8 | Int(pending[start + 7])
            guard pending.count - start - 8 >= size else { break }
            let payload = Array(pending[(start + 8)..<(start + 8 + size)])
            if pending[start] == 2 { stderr(payload) } else { stdout(payload) }
            start += 8 + size
        }
        pending.removeFirst(start)
    }
}
