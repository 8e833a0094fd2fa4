import Foundation
import Testing
import WAT
import WasmKit
import WasmKitWASI

@testable import Executor

/// WASI modules for the tests, from WAT text.
enum WasmModules {
    /// Writes `text` to fd `fd`, then exits with `code`.
    static func write(_ text: String, fd: Int = 1, exitCode: Int) -> String {
        let escaped = text.utf8.map { String(format: "\\%02x", $0) }.joined()
        return """
            (module
              (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
              (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
              (memory (export "memory") 1)
              (data (i32.const 16) "\(escaped)")
              (func (export "_start")
                (i32.store (i32.const 0) (i32.const 16))
                (i32.store (i32.const 4) (i32.const \(text.utf8.count)))
                (drop (call $fd_write (i32.const \(fd)) (i32.const 0) (i32.const 1) (i32.const 8)))
                (call $proc_exit (i32.const \(exitCode)))))
            """
    }

    /// Reads stdin into a 64-byte buffer and exits with the count read (or
    /// 100 + the errno), after writing "a" and "bc" to stdout in one
    /// two-buffer `fd_write`.
    static let readStdinWriteTwoBuffers = """
        (module
          (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 100) "abc")
          (func (export "_start") (local $errno i32)
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.const 1))
            (i32.store (i32.const 8) (i32.const 101))
            (i32.store (i32.const 12) (i32.const 2))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16)))
            (i32.store (i32.const 20) (i32.const 200))
            (i32.store (i32.const 24) (i32.const 64))
            (local.set $errno (call $fd_read (i32.const 0) (i32.const 20) (i32.const 1) (i32.const 28)))
            (if (local.get $errno) (then (call $proc_exit (i32.add (i32.const 100) (local.get $errno)))))
            (call $proc_exit (i32.load (i32.const 28)))))
        """

    /// An empty `_start`.
    static let empty = #"(module (memory (export "memory") 1) (func (export "_start")))"#

    /// Spins forever without calling WASI.
    static let spin = #"(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))"#

    /// Calls `sched_yield` forever: stoppable at each call.
    static let yieldForever = """
        (module
          (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
          (memory (export "memory") 1)
          (func (export "_start") (loop (drop (call $yield)) (br 0))))
        """

    /// Grows memory by 64 KiB pages until growth fails; exits 0 if it reached `pages`, else 1.
    static func grow(pages: Int) -> String {
        """
        (module
          (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
          (memory (export "memory") 1)
          (func (export "_start")
            (if (i32.eq (memory.grow (i32.const \(pages))) (i32.const -1))
              (then (call $proc_exit (i32.const 1))))
            (call $proc_exit (i32.const 0))))
        """
    }

    /// Creates `/inputs/data/new.txt` (path_open with O_CREAT); exits with the errno.
    static let createInInputs = """
        (module
          (import "wasi_snapshot_preview1" "path_open"
            (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "new.txt")
          (func (export "_start")
            ;; fd 3 = /local, 4 = /secrets, 5 = /outputs, 6 = /inputs/data
            (call $proc_exit
              (call $path_open (i32.const \\(INPUT_FD)) (i32.const 0) (i32.const 16) (i32.const 7)
                (i32.const 1) (i64.const 0x7f) (i64.const 0x7f) (i32.const 0) (i32.const 8)))))
        """

    /// Writes "ready" to stdout, then spins without calling WASI.
    static let readyThenSpin = """
        (module
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "ready\\0a")
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 6))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (loop (br 0))))
        """

    /// Writes "ready", sleeps `nanoseconds` (poll_oneoff on one relative clock,
    /// userdata 42), then exits 0 when the one event came back for it, else 1.
    static func readyThenSleep(nanoseconds: UInt64) -> String {
        """
        (module
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "ready\\0a")
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 6))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            ;; subscription at 64: userdata 42, tag clock, id monotonic, timeout, relative
            (i64.store (i32.const 64) (i64.const 42))
            (i32.store8 (i32.const 72) (i32.const 0))
            (i32.store (i32.const 80) (i32.const 1))
            (i64.store (i32.const 88) (i64.const \(nanoseconds)))
            (i64.store (i32.const 96) (i64.const 0))
            (i32.store16 (i32.const 104) (i32.const 0))
            (if (call $poll (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 160)) (then (call $proc_exit (i32.const 2))))
            (if (i32.and (i32.eq (i32.load (i32.const 160)) (i32.const 1)) (i64.eq (i64.load (i32.const 128)) (i64.const 42)))
              (then (call $proc_exit (i32.const 0))))
            (call $proc_exit (i32.const 1))))
        """
    }

    /// A guest doing `body` in `_start` with file system calls at hand. Strings
    /// in memory: "new.txt" at 100, "sub" at 120, "in.txt" at 140, "newdir" at
    /// 160; scratch from 200. `(call $check ERRNO STEP)` exits with 100 + STEP
    /// when a setup step fails. Preopens: 3 /local, 4 /secrets, 5 /outputs,
    /// 6 /inputs/data.
    static func filesystem(_ body: String) -> String {
        """
        (module
          (import "wasi_snapshot_preview1" "path_open"
            (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "path_create_directory" (func $mkdir (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_renumber" (func $fd_renumber (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 100) "new.txt")
          (data (i32.const 120) "sub")
          (data (i32.const 140) "in.txt")
          (data (i32.const 160) "newdir")
          (func $check (param $errno i32) (param $step i32)
            (if (local.get $errno) (then (call $proc_exit (i32.add (i32.const 100) (local.get $step))))))
          (func (export "_start")
            \(body)))
        """
    }

    /// `path_open(dir, path at pointer, oflags, rights)` storing the new descriptor at 200; its errno.
    static func open(_ directory: String, path: Int, length: Int, oflags: Int = 0, rights: UInt64, fdflags: Int = 0) -> String {
        "(call $path_open \(directory) (i32.const 0) (i32.const \(path)) (i32.const \(length)) (i32.const \(oflags)) (i64.const \(rights)) (i64.const 0x1fffffff) (i32.const \(fdflags)) (i32.const 200))"
    }

    static func module(_ wat: String, in directory: TaskDirectory, name: String = "task.wasm") throws -> String {
        let path = directory.local + "/" + name
        try Data(try wat2wasm(wat)).write(to: URL(fileURLWithPath: path))
        return "local/" + name
    }
}

@Suite("wasm driver")
struct WasmDriverTests {
    let driver = WasmDriver()

    func wasmTask(_ module: String, fuel: UInt64? = nil, memory: Int? = nil, timeout: Duration? = nil) -> TaskSpec {
        TaskSpec(
            id: "w-\(UUID().uuidString.prefix(8))", name: "main", driver: "wasm",
            config: WasmConfig(module: module, fuel: fuel).json,
            resources: TaskResources(memoryBytes: memory), timeout: timeout
        )
    }

    @Test("exit code and stdout/stderr capture")
    func exitCodeAndOutput() async throws {
        let directory = try makeTaskDirectory()
        let out = try WasmModules.module(WasmModules.write("hello from wasm\n", exitCode: 3), in: directory)
        let handle = try await driver.start(wasmTask(out), in: directory)
        let result = try await driver.wait(handle)
        #expect(result.exitCode == 3)
        #expect(handle.stdout.readText() == "hello from wasm\n")
        let err = try WasmModules.module(WasmModules.write("oops\n", fd: 2, exitCode: 0), in: directory, name: "err.wasm")
        var spec = wasmTask(err)
        spec.name = "second"
        let second = try await driver.start(spec, in: directory)
        #expect(try await driver.wait(second).exitCode == 0)
        #expect(second.stderr.readText() == "oops\n")
        try await driver.destroy(handle)
        try await driver.destroy(second)
    }

    @Test("a guest's stdin is at its end, and every buffer it writes reaches its log")
    func standardStreams() async throws {
        let directory = try makeTaskDirectory()
        let path = try WasmModules.module(WasmModules.readStdinWriteTwoBuffers, in: directory)
        let handle = try await driver.start(wasmTask(path), in: directory)
        #expect(try await driver.wait(handle).exitCode == 0, "reading stdin gives 0 bytes and no error")
        #expect(handle.stdout.readText() == "abc")
        #expect(handle.stdout.isComplete && handle.stderr.isComplete)
        try await driver.destroy(handle)
    }

    @Test("a module is parsed once while its file is unchanged, and again once it is rewritten")
    func modulesAreReusedUntilRewritten() async throws {
        let directory = try makeTaskDirectory()
        let path = try WasmModules.module(WasmModules.write("one\n", exitCode: 3), in: directory)
        for _ in 0..<2 {
            let handle = try await driver.start(wasmTask(path), in: directory)
            #expect(try await driver.wait(handle).exitCode == 3)
            try await driver.destroy(handle)
        }
        // Same name, same size, new code.
        _ = try WasmModules.module(WasmModules.write("two\n", exitCode: 4), in: directory)
        let handle = try await driver.start(wasmTask(path), in: directory)
        #expect(try await driver.wait(handle).exitCode == 4)
        #expect(handle.stdout.readText().hasSuffix("two\n"))
        try await driver.destroy(handle)
    }

    @Test("a guest is linked with the WASI capabilities it imports from, and every WASI function stays reachable")
    func wasiCapabilitiesFollowImports() throws {
        let every = try WASIBridgeToHost().runAndClose { bridge in
            Set(WASICapability.all.flatMap { Array(bridge.hostFunctions(capabilities: [$0], stubUnlinked: false).keys) })
        }
        #expect(every.contains("fd_write") && every.contains("path_open") && every.contains("poll_oneoff"))
        // Importing every function needs every capability; importing two needs fewer.
        let all = WASIImports.capabilities(providing: every)
        #expect(all.capabilities.count == WASICapability.all.count && all.providesAll)
        let two = WASIImports.capabilities(providing: ["fd_write", "proc_exit"])
        #expect(two.capabilities.count < WASICapability.all.count && two.providesAll)
        let linked = try WASIBridgeToHost().runAndClose { Set($0.hostFunctions(capabilities: two.capabilities, stubUnlinked: false).keys) }
        #expect(linked.isSuperset(of: ["fd_write", "proc_exit"]))
        // A name no capability provides needs WasmKit's stubs.
        #expect(!WASIImports.capabilities(providing: ["fd_write", "no_such_function"]).providesAll)
    }

    @Test("an invalid module, a missing one and one without _start are clear errors")
    func invalidModules() async throws {
        let directory = try makeTaskDirectory()
        try Data("not wasm at all".utf8).write(to: URL(fileURLWithPath: directory.local + "/bad.wasm"))
        let bad = await #expect(throws: TaskDriverError.self) { _ = try await driver.start(wasmTask("local/bad.wasm"), in: directory) }
        #expect(bad?.description.hasPrefix("WebAssembly module \"local/bad.wasm\" cannot be used: not a valid WebAssembly module") == true)
        let missing = await #expect(throws: TaskDriverError.self) { _ = try await driver.start(wasmTask("local/none.wasm"), in: directory) }
        #expect(missing?.description.contains("cannot be read") == true)
        let library = try WasmModules.module(#"(module (func (export "f")))"#, in: directory, name: "lib.wasm")
        let noStart = await #expect(throws: TaskDriverError.self) { _ = try await driver.start(wasmTask(library), in: directory) }
        #expect(noStart?.description.contains("_start") == true)
    }

    @Test("fuel bounds a guest that spins without WASI calls")
    func fuelLimit() async throws {
        let directory = try makeTaskDirectory()
        let module = try WasmModules.module(WasmModules.spin, in: directory)
        let handle = try await driver.start(wasmTask(module, fuel: 1_000_000), in: directory)
        let result = try await driver.wait(handle)
        #expect(result.exitCode != 0)
        #expect(result.message?.contains("out of fuel") == true)
        try await driver.destroy(handle)
    }

    @Test("the timeout and stop end a guest at its next WASI call")
    func timeoutAndStop() async throws {
        let directory = try makeTaskDirectory()
        let module = try WasmModules.module(WasmModules.yieldForever, in: directory)
        let timed = try await driver.start(wasmTask(module, timeout: .milliseconds(200)), in: directory)
        let result = try await driver.wait(timed)
        #expect(result.timedOut)
        let stopped = try await driver.start(wasmTask(module), in: directory)
        try await driver.stop(stopped)
        #expect(try await driver.wait(stopped).signal == .terminate)
        try await driver.destroy(timed)
        try await driver.destroy(stopped)
    }

    @Test("the memory limit refuses growth beyond it")
    func memoryLimit() async throws {
        let directory = try makeTaskDirectory()
        let module = try WasmModules.module(WasmModules.grow(pages: 32), in: directory)  // to 33 pages: 2.1 MB
        let limited = try await driver.start(wasmTask(module, memory: 1 << 20), in: directory)
        #expect(try await driver.wait(limited).exitCode == 1)
        let unlimited = try await driver.start(wasmTask(module, memory: 4 << 20), in: directory)
        #expect(try await driver.wait(unlimited).exitCode == 0)
    }

    @Test("inputs are read-only, outputs writable")
    func readOnlyInputs() async throws {
        let data = try makeTaskDirectory("data")
        let directory = try makeTaskDirectory(inputs: ["data": data.local])
        let intoInputs = try WasmModules.module(WasmModules.createInInputs.replacingOccurrences(of: "\\(INPUT_FD)", with: "6"), in: directory, name: "a.wasm")
        let intoOutputs = try WasmModules.module(WasmModules.createInInputs.replacingOccurrences(of: "\\(INPUT_FD)", with: "5"), in: directory, name: "b.wasm")
        let denied = try await driver.start(wasmTask(intoInputs), in: directory)
        #expect(try await driver.wait(denied).exitCode == 69)  // EROFS
        #expect(!FileManager.default.fileExists(atPath: data.local + "/new.txt"))
        let allowed = try await driver.start(wasmTask(intoOutputs), in: directory)
        #expect(try await driver.wait(allowed).exitCode == 0)
        #expect(FileManager.default.fileExists(atPath: directory.outputs + "/new.txt"))
    }

    @Test("stop and the timeout end a guest that spins without any WASI call")
    func stopSpinningGuest() async throws {
        let directory = try makeTaskDirectory()
        let module = try WasmModules.module(WasmModules.readyThenSpin, in: directory)
        let spinning = try await driver.start(wasmTask(module), in: directory)
        #expect(await eventually { spinning.stdout.readText() == "ready\n" })
        // A liveness bound, not a timing assertion: a stop that never returns fails here instead of hanging the run.
        let stopped = ResultLatch<Void>()
        Task { [driver] in
            try? await driver.stop(spinning)
            stopped.resolve(())
        }
        try #require(await stopped.value(timeout: .seconds(60)) != nil, "stop did not return for a spinning guest")
        let result = try await driver.wait(spinning)
        #expect(result.signal == .terminate)
        #expect(result.message == nil, "\(result)")  // a stop, not reported as running out of fuel

        var spec = wasmTask(module, timeout: .milliseconds(200))
        spec.name = "timed"
        let timed = try await driver.start(spec, in: directory)
        let ended = ResultLatch<TaskResult>()
        Task { [driver] in
            if let result = try? await driver.wait(timed) { ended.resolve(result) }
        }
        let timedResult = try #require(await ended.value(timeout: .seconds(60)), "the timeout did not end a spinning guest")
        #expect(timedResult.timedOut)
        try await driver.destroy(spinning)
        try await driver.destroy(timed)
    }

    @Test("stop ends a guest asleep in poll_oneoff; a short sleep still wakes with its event")
    func stopSleepingGuest() async throws {
        let directory = try makeTaskDirectory()
        let asleep = try await driver.start(wasmTask(try WasmModules.module(WasmModules.readyThenSleep(nanoseconds: 3_600_000_000_000), in: directory)), in: directory)
        #expect(await eventually { asleep.stdout.readText() == "ready\n" })
        let stopped = ResultLatch<Void>()
        Task { [driver] in
            try? await driver.stop(asleep)
            stopped.resolve(())
        }
        try #require(await stopped.value(timeout: .seconds(60)) != nil, "stop did not return for a sleeping guest")
        #expect(try await driver.wait(asleep).signal == .terminate)
        try await driver.destroy(asleep)

        var spec = wasmTask(try WasmModules.module(WasmModules.readyThenSleep(nanoseconds: 1_000_000), in: directory, name: "short.wasm"))
        spec.name = "short"
        let short = try await driver.start(spec, in: directory)
        #expect(try await driver.wait(short).exitCode == 0)
        try await driver.destroy(short)
    }

    @Test("a guest given fuel still runs out of it, reported as such")
    func fuelStillReported() async throws {
        let directory = try makeTaskDirectory()
        let module = try WasmModules.module(WasmModules.readyThenSpin, in: directory)
        let handle = try await driver.start(wasmTask(module, fuel: 2_000_000), in: directory)
        let result = try await driver.wait(handle)
        #expect(result.signal == nil)
        #expect(result.message?.hasPrefix("out of fuel") == true, "\(result)")
        try await driver.destroy(handle)
    }

    /// An input `data` holding `in.txt` and a directory `sub`, and a task directory mounting it.
    func inputFixture() throws -> (data: TaskDirectory, directory: TaskDirectory) {
        let data = try makeTaskDirectory("data")
        try Data("input data\n".utf8).write(to: URL(fileURLWithPath: data.local + "/in.txt"))
        try FileManager.default.createDirectory(atPath: data.local + "/sub", withIntermediateDirectories: true)
        return (data, try makeTaskDirectory(inputs: ["data": data.local]))
    }

    func run(_ body: String, in directory: TaskDirectory, name: String) async throws -> (TaskResult, TaskHandle) {
        let module = try WasmModules.module(WasmModules.filesystem(body), in: directory, name: name + ".wasm")
        var spec = wasmTask(module)
        spec.name = name
        let handle = try await driver.start(spec, in: directory)
        return (try await driver.wait(handle), handle)
    }

    @Test("an input renumbered onto another descriptor stays read-only")
    func renumberedInputStaysReadOnly() async throws {
        let (data, directory) = try inputFixture()
        // /inputs/data (6) over /outputs (5), then create through 5.
        let (result, _) = try await run(
            """
            (call $check (call $fd_renumber (i32.const 6) (i32.const 5)) (i32.const 1))
            (call $proc_exit \(WasmModules.open("(i32.const 5)", path: 100, length: 7, oflags: 1, rights: 0x7f)))
            """, in: directory, name: "renumber")
        #expect(result.exitCode == 69)  // EROFS
        #expect(!FileManager.default.fileExists(atPath: data.local + "/new.txt"))
        // The other way round, a writable directory renumbered over an input's number stays writable.
        let (back, _) = try await run(
            """
            (call $check (call $fd_renumber (i32.const 5) (i32.const 6)) (i32.const 1))
            (call $proc_exit \(WasmModules.open("(i32.const 6)", path: 100, length: 7, oflags: 1, rights: 0x7f)))
            """, in: directory, name: "renumberback")
        #expect(back.exitCode == 0)
        #expect(FileManager.default.fileExists(atPath: directory.outputs + "/new.txt"))
        #expect(!FileManager.default.fileExists(atPath: data.local + "/new.txt"))
    }

    @Test("a directory opened under an input is read-only too")
    func subdirectoryOfInputIsReadOnly() async throws {
        let (data, directory) = try inputFixture()
        // path_open_directory rights: path_create_directory, path_create_file, path_open, fd_readdir.
        let (result, _) = try await run(
            """
            (call $check \(WasmModules.open("(i32.const 6)", path: 120, length: 3, oflags: 2, rights: 0x6600)) (i32.const 1))
            (if (i32.ne (call $mkdir (i32.load (i32.const 200)) (i32.const 160) (i32.const 6)) (i32.const 69))
              (then (call $proc_exit (i32.const 150))))
            (call $proc_exit \(WasmModules.open("(i32.load (i32.const 200))", path: 100, length: 7, oflags: 1, rights: 0x7f)))
            """, in: directory, name: "subdir")
        #expect(result.exitCode == 69)
        #expect(!FileManager.default.fileExists(atPath: data.local + "/sub/new.txt"))
        #expect(!FileManager.default.fileExists(atPath: data.local + "/sub/newdir"))
    }

    @Test("an input file cannot be truncated, opened for writing or appending, but reads")
    func inputFileIsReadOnly() async throws {
        let (data, directory) = try inputFixture()
        let attempts = [
            ("truncate", WasmModules.open("(i32.const 6)", path: 140, length: 6, oflags: 8, rights: 2)),
            ("write", WasmModules.open("(i32.const 6)", path: 140, length: 6, rights: 64)),
            ("append", WasmModules.open("(i32.const 6)", path: 140, length: 6, rights: 2, fdflags: 1)),
        ]
        for (name, call) in attempts {
            let (result, _) = try await run("(call $proc_exit \(call))", in: directory, name: name)
            #expect(result.exitCode == 69, "\(name): \(result)")
        }
        // Opened for reading, it reads, and writing through that descriptor is refused.
        let (read, handle) = try await run(
            """
            (call $check \(WasmModules.open("(i32.const 6)", path: 140, length: 6, rights: 2)) (i32.const 1))
            (i32.store (i32.const 300) (i32.const 400))
            (i32.store (i32.const 304) (i32.const 100))
            (call $check (call $fd_read (i32.load (i32.const 200)) (i32.const 300) (i32.const 1) (i32.const 308)) (i32.const 2))
            (i32.store (i32.const 320) (i32.const 400))
            (i32.store (i32.const 324) (i32.load (i32.const 308)))
            (call $check (call $fd_write (i32.const 1) (i32.const 320) (i32.const 1) (i32.const 328)) (i32.const 3))
            (call $proc_exit (call $fd_write (i32.load (i32.const 200)) (i32.const 320) (i32.const 1) (i32.const 328)))
            """, in: directory, name: "read")
        #expect(read.exitCode == 69, "\(read)")
        #expect(handle.stdout.readText() == "input data\n")
        #expect(try String(contentsOfFile: data.local + "/in.txt", encoding: .utf8) == "input data\n")
    }

    @Test("recover after an agent restart is refused: the guest ran inside the agent")
    func recoverIsRefused() async throws {
        let directory = try makeTaskDirectory()
        let module = try WasmModules.module(WasmModules.empty, in: directory)
        let handle = try await driver.start(wasmTask(module), in: directory)
        #expect(try await driver.wait(handle).exitCode == 0)
        let restarted = WasmDriver()
        let error = await #expect(throws: TaskDriverError.self) { try await restarted.recover(handle) }
        #expect(error?.description.contains("cannot be reattached") == true)
    }
}
