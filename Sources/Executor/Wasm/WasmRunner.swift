import Foundation
@_spi(Fuzzing) import WasmKit
import WasmKitWASI
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs one guest to completion on the calling thread.
enum WasmRunner {
    /// WASI errno `rofs`: read-only file system.
    static let readOnlyFileSystem: UInt32 = 69
    /// Rights that mean "open for writing" (fd_datasync, fd_write, fd_allocate, fd_filestat_set_size).
    static let writeRights: UInt64 = (1 << 0) | (1 << 6) | (1 << 8) | (1 << 22)

    static func run(
        module: Module, arguments: [String], environment: [String: String], mounts: [GuestMount],
        stdout: Int32, stderr: Int32, limits: WasmLimits, control: WasmControl
    ) -> TaskResult {
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(devNull) }
        let engine = Engine(configuration: EngineConfiguration(fuelMetering: limits.fuel != nil))
        let store = Store(engine: engine)
        if let fuel = limits.fuel { store.fuel = Fuel(remaining: fuel) }
        store.resourceLimiter = MemoryCap(limit: limits.memoryBytes ?? Int.max, control: control)
        // Preopened directories get descriptors from 3 on, in order.
        let readOnly = Set(mounts.enumerated().filter { $0.element.readOnly }.map { UInt32(3 + $0.offset) })
        do {
            let wasi = try WASIBridgeToHost(
                args: arguments, environment: environment,
                preopens: mounts.map { WASIBridgeToHost.Preopen(guestPath: $0.guestPath, hostPath: $0.hostPath) },
                stdin: devNull, stdout: stdout, stderr: stderr
            )
            return try wasi.runAndClose { wasi in
                var imports = Imports()
                for (name, function) in wasi.hostFunctions(capabilities: WASICapability.all) {
                    let implementation = function.implementation
                    imports.define(
                        module: "wasi_snapshot_preview1", name: name,
                        Function(store: store, type: function.type) { caller, values in
                            if let reason = control.cancellation { throw WasmCancelled(reason: reason) }
                            if writesUnderReadOnlyMount(name, values, readOnly) { return [.i32(readOnlyFileSystem)] }
                            guard case .memory(let memory) = caller.instance?.export("memory") else {
                                throw TaskDriverError.invalidModule("guest", reason: "it exports no \"memory\"")
                            }
                            return try implementation(memory, values)
                        }
                    )
                }
                let instance = try module.instantiate(store: store, imports: imports)
                let code = try wasi.start(instance)
                return TaskResult(exitCode: Int32(bitPattern: code))
            }
        } catch let cancelled as WasmCancelled {
            switch cancelled.reason {
            case .timedOut:
                return TaskResult(exitCode: 128 + SIGTERM, signal: .terminate, timedOut: true)
            case .signaled(let signal):
                return TaskResult(exitCode: 128 + signal.rawValue, signal: signal)
            }
        } catch {
            let text = "\(error)"
            if text.contains("out of fuel") {
                return TaskResult(exitCode: 134, message: "out of fuel: the module ran past its fuel limit of \(limits.fuel ?? 0)")
            }
            if let limit = limits.memoryBytes, text.contains("memory") || text.contains("grow") {
                return TaskResult(exitCode: 134, oomKilled: true, message: "trap after the memory limit of \(limit) bytes: \(text)")
            }
            return TaskResult(exitCode: 134, message: "trap: \(text)")
        }
    }

    /// Whether a WASI call would write directly under a read-only preopen.
    static func writesUnderReadOnlyMount(_ name: String, _ values: [Value], _ readOnly: Set<UInt32>) -> Bool {
        guard !readOnly.isEmpty else { return false }
        func fd(_ index: Int) -> UInt32? {
            guard index < values.count, case .i32(let value) = values[index] else { return nil }
            return value
        }
        func isReadOnly(_ index: Int) -> Bool { fd(index).map { readOnly.contains($0) } ?? false }
        switch name {
        case "path_open":
            // (fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting, fdflags, opened_fd)
            guard isReadOnly(0), values.count >= 8 else { return false }
            var oflags: UInt32 = 0
            var rights: UInt64 = 0
            var fdflags: UInt32 = 0
            if case .i32(let value) = values[4] { oflags = value }
            if case .i64(let value) = values[5] { rights = value }
            if case .i32(let value) = values[7] { fdflags = value }
            // O_CREAT = 1, O_TRUNC = 8; FDFLAGS_APPEND = 1
            return oflags & (1 | 8) != 0 || rights & writeRights != 0 || fdflags & 1 != 0
        case "path_create_directory", "path_remove_directory", "path_unlink_file", "path_filestat_set_times":
            return isReadOnly(0)
        case "path_rename":
            return isReadOnly(0) || isReadOnly(3)
        case "path_symlink":
            return isReadOnly(2)
        case "path_link":
            return isReadOnly(4)
        default:
            return false
        }
    }
}
