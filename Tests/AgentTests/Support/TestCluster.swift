import API
import Foundation
import GRPCCore
import LoopbackPorts
import Transport

/// Real `caravand server` processes on 127.0.0.1 forming one cluster.
final class TestCluster: @unchecked Sendable {
    let directory: String
    private(set) var servers: [ServerProcess] = []
    private(set) var clients: [ClientProcess] = []

    /// Starts `size` servers bootstrapped with each other as peers.
    /// - Parameters:
    ///   - durable: give each a `--data-dir` (RocksDB, fsync) under the cluster's directory.
    ///   - extra: more arguments for every server.
    init(size: Int, durable: Bool = true, extra: [String] = []) throws {
        directory = NSTemporaryDirectory() + "caravan-cluster-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let names = (1...size).map { "s\($0)" }
        let ports = try names.map { _ in try LoopbackPort.next() }
        let peers = zip(names, ports).map { "\($0)=127.0.0.1:\($1)" }.joined(separator: ",")
        for (name, port) in zip(names, ports) {
            var arguments = ["--peers", peers] + extra
            if durable { arguments += ["--data-dir", "\(directory)/\(name)"] }
            servers.append(try ServerProcess(name: name, port: port, arguments: arguments, logDirectory: directory))
        }
    }

    /// Starts one more server that joins the cluster through `through`.
    func join(name: String, through: ServerProcess, extra: [String] = []) throws -> ServerProcess {
        let port = try LoopbackPort.next()
        let server = try ServerProcess(
            name: name, port: port,
            arguments: ["--join", through.address.description, "--data-dir", "\(directory)/\(name)"] + extra,
            logDirectory: directory)
        servers.append(server)
        return server
    }

    /// Starts a `caravand client` registered with every server.
    @discardableResult
    func addClient(name: String, extra: [String] = []) throws -> ClientProcess {
        let client = try ClientProcess(name: name, servers: servers.map(\.address), directory: directory, extra: extra)
        clients.append(client)
        return client
    }

    /// The server every running server agrees leads, once there is one.
    func leader(among candidates: [ServerProcess]? = nil, timeout: Duration = .seconds(20)) async throws -> ServerProcess {
        let running = (candidates ?? servers).filter(\.isRunning)
        var found: ServerProcess?
        try await eventually("a leader that every running server knows", timeout: timeout) {
            var statuses: [(ServerProcess, Caravan_Api_V1_GetStatusResponse)] = []
            for server in running {
                guard let status = await server.status() else { return false }
                statuses.append((server, status))
            }
            guard let leading = statuses.first(where: { $0.1.role == "leader" }) else { return false }
            let id = leading.1.nodeID
            guard statuses.allSatisfy({ $0.1.leaderID == id }) else { return false }
            found = leading.0
            return true
        }
        return found!
    }

    func followers(of leader: ServerProcess) -> [ServerProcess] {
        servers.filter { $0 !== leader && $0.isRunning }
    }

    /// A batch job's specification as JSON.
    static func jobSpec(id: String, count: Int = 1) -> Data {
        Data("""
            {"id": "\(id)", "type": "batch", "datacenters": ["*"],
             "groups": [{"name": "g", "count": \(count),
               "tasks": [{"name": "t", "driver": "exec", "config": {"command": "/bin/true"},
                          "resources": {"cpu": 10, "memory_mb": 8}}]}]}
            """.utf8)
    }

    /// Registers job `id` through `server`, retrying while no leader is known.
    @discardableResult
    func register(_ id: String, through server: ServerProcess, idempotencyKey: String = "") async throws -> Caravan_Api_V1_RegisterJobResponse {
        var request = Caravan_Api_V1_RegisterJobRequest()
        request.specJson = Self.jobSpec(id: id)
        request.idempotencyKey = idempotencyKey
        return try await server.connection.jobs.register(request, options: ServerProcess.quick)
    }

    /// Ids of the jobs `server` holds (a stale read: its own state).
    func jobIDs(on server: ServerProcess, stale: Bool = true) async throws -> Set<String> {
        var ids: Set<String> = []
        var request = Caravan_Api_V1_ListJobsRequest()
        request.options.allowStale = stale
        request.options.pageSize = 1000
        while true {
            let response = try await server.connection.jobs.list(request, options: ServerProcess.quick)
            ids.formUnion(response.jobs.map(\.id))
            guard !response.page.nextCursor.isEmpty else { return ids }
            request.options.cursor = response.page.nextCursor
        }
    }

    /// The last lines of every server's log, for a failing test.
    func logs(lines: Int = 40) -> String {
        let processes = servers.map { ("\($0.name) (port \($0.port))", $0.log) } + clients.map { ("client \($0.name)", $0.log) }
        return processes.map { name, log in
            let tail = log.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
            return "--- \(name) ---\n\(tail)"
        }.joined(separator: "\n")
    }

    func stop() {
        for client in clients {
            client.resume()
            client.kill()
        }
        for server in servers { server.kill() }
        killTasksLeftBehind()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Kills the tasks the clients leave running (a client that stops or dies
    /// leaves its tasks for its next start to reattach): every process whose
    /// command line names this cluster's directory, as each task supervisor's
    /// does, with its process group. Tests would otherwise leave their
    /// `sleep 600` tasks running for ten minutes.
    private func killTasksLeftBehind() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), pid != getpid(),
                  let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  String(decoding: cmdline, as: UTF8.self).contains(directory)
            else { continue }
            _ = Foundation.kill(-pid, SIGKILL)
            _ = Foundation.kill(pid, SIGKILL)
        }
    }
}

/// Runs `body` on a fresh cluster; prints the servers' logs if it throws.
func withCluster(
    size: Int, durable: Bool = true, extra: [String] = [], _ body: (TestCluster) async throws -> Void
) async throws {
    let cluster = try TestCluster(size: size, durable: durable, extra: extra)
    defer { cluster.stop() }
    do {
        try await body(cluster)
    } catch {
        print("cluster test failed: \(error)\n\(cluster.logs())")
        throw error
    }
}
