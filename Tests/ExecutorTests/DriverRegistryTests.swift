import CustomDriverExample
import Foundation
import Testing

@testable import Executor

@Suite("Driver registry and a custom driver")
struct DriverRegistryTests {
    @Test("built-in drivers are registered; a custom one joins them and runs a task")
    func customDriver() async throws {
        let registry = DriverRegistry.builtIn()
        #expect(registry.names == ["docker", "exec", "wasm"])
        try EchoDriver.register(in: registry)
        #expect(throws: TaskDriverError.duplicateDriver("echo")) { try registry.register(EchoDriver()) }
        let unknown = #expect(throws: TaskDriverError.self) { _ = try registry.driver(named: "qemu") }
        #expect(unknown?.description == "no task driver named \"qemu\" (known: docker, echo, exec, wasm)")

        let driver = try registry.driver(named: "echo")
        let directory = try makeTaskDirectory()
        let spec = TaskSpec(id: "e-1", name: "main", driver: "echo", config: ["message": "hi there", "exit_code": 2])
        let handle = try await driver.start(spec, in: directory)
        #expect(try await driver.wait(handle).exitCode == 2)
        #expect(handle.stdout.readText() == "hi there\n")
        #expect(await registry.fingerprints()["echo"]?.isHealthy == true)
    }

    @Test("handles survive encoding, as an agent persists them")
    func handleRoundTrip() async throws {
        let directory = try makeTaskDirectory()
        let spec = shellTask("true", timeout: .seconds(30))
        let driver = ExecDriver()
        let handle = try await driver.start(spec, in: directory)
        let decoded = try TaskHandle.decode(from: handle.encoded())
        #expect(decoded.taskID == handle.taskID)
        #expect(decoded.state == handle.state)
        #expect(decoded.killSignal == .terminate)
        #expect(try await driver.wait(handle).succeeded)
        try await driver.destroy(handle)
    }
}
