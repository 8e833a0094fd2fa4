import Executor
import Foundation

/// What the tests ask the stand-in agent to start.
struct AgentRequest: Codable {
    var spec: TaskSpec
    var directory: TaskDirectory
    var dockerSocket: String?
}

/// A stand-in for the agent in restart tests: starts one task the way an agent
/// would, prints its handle as JSON on stdout and exits at once, leaving the task
/// running. The test then recovers the task in another process (itself).
///
/// Usage: `ExecutorTestAgent REQUEST.json`
@main
struct ExecutorTestAgent {
    static func main() async {
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: CommandLine.arguments[1]))
            let request = try JSONDecoder().decode(AgentRequest.self, from: data)
            let registry = DriverRegistry.builtIn(dockerSocket: request.dockerSocket ?? DockerDriver.defaultSocket)
            let driver = try registry.driver(named: request.spec.driver)
            let handle = try await driver.start(request.spec, in: request.directory)
            FileHandle.standardOutput.write(try handle.encoded())
            // A graceful agent shutdown: let go of the task without losing output.
            await (driver as? ExecDriver)?.detach()
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("ExecutorTestAgent: \(error)\n".utf8))
            exit(1)
        }
    }
}
