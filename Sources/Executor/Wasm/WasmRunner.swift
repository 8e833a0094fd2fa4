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
    /// The engine of the calling guest thread. Guests on one thread share it,
    /// but not across threads: an engine interns function types behind one
    /// lock that every instantiation and every first call of a function
    /// takes, and guests running side by side spent 6% of a busy client's
    /// CPU waiting on it. Guest threads are reused (see
    /// ``GuestThreads``), so a thread makes its engine once. Fuel is always
    /// metered, budget or not: it is how a stop reaches a guest that makes
    /// no WASI call (see `WasmControl`).
    private static var engine: Engine {
        if let stored = pthread_getspecific(engineKey) {
            return Unmanaged<Engine>.fromOpaque(stored).takeUnretainedValue()
        }
        let engine = Engine(configuration: EngineConfiguration(fuelMetering: true))
        pthread_setspecific(engineKey, Unmanaged.passRetained(engine).toOpaque())
        return engine
    }

    /// Holds each thread's engine, released when the thread exits.
    private static let engineKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { stored in
            if let stored { Unmanaged<Engine>.fromOpaque(stored).release() }
        }
        return key
    }()

    static func run(
        module: Module, arguments: [String], environment: [String: String], mounts: [GuestMount],
        stdout: LogRotator, stderr: LogRotator, limits: WasmLimits, control: WasmControl
    ) -> TaskResult {
        let store = Store(engine: engine)
        if let fuel = limits.fuel { store.fuel = Fuel(remaining: fuel) }
        store.resourceLimiter = MemoryCap(limit: limits.memoryBytes ?? Int.max, control: control)
        control.attach(store)
        defer { control.detach() }
        // Preopened directories get descriptors from 3 on, in order.
        let readOnly = ReadOnlyGuard(ReadOnlyDescriptors(preopensReadOnly: mounts.map(\.readOnly)))
        do {
            let wasi = try GuestStdio.bridge(arguments: arguments, environment: environment, mounts: mounts, stdout: stdout, stderr: stderr)
            return try wasi.runAndClose { wasi in
                var imports = Imports()
                let imported = WASIImports.names(importedBy: module)
                let linked = WASIImports.capabilities(providing: imported)
                // WasmKit's stubs for what no capability provides are most of
                // the cost of building the table; a guest whose imports are
                // all provided needs none of them.
                for (name, function) in wasi.hostFunctions(capabilities: linked.capabilities, stubUnlinked: !linked.providesAll)
                where imported.contains(name) {
                    let implementation = function.implementation
                    imports.define(
                        module: WASIImports.module, name: name,
                        Function(store: store, type: function.type) { caller, values in
                            if let reason = control.cancellation { throw WasmCancelled(reason: reason) }
                            if readOnly.refuses(name, values) { return [.i32(ReadOnlyDescriptors.readOnlyFileSystem)] }
                            guard case .memory(let memory) = caller.instance?.export("memory") else {
                                throw TaskDriverError.invalidModule("guest", reason: "it exports no \"memory\"")
                            }
                            if name == "poll_oneoff", let results = try Self.sleep(values, in: memory, control: control) {
                                return results
                            }
                            let results = try implementation(memory, values)
                            if case .i32(0)? = results.first {
                                readOnly.record(name, values) { Self.readDescriptor(at: ReadOnlyDescriptors.i32(values, 8), in: memory) }
                            }
                            return results
                        }
                    )
                }
                let instance = try module.instantiate(store: store, imports: imports)
                let code = try wasi.start(instance)
                return TaskResult(exitCode: Int32(bitPattern: code))
            }
        } catch {
            // A stopped guest ends with whatever unwound it: the cancellation at a
            // WASI call, or the out-of-fuel trap of an interrupt.
            if let reason = (error as? WasmCancelled)?.reason ?? control.cancellation {
                switch reason {
                case .timedOut:
                    return TaskResult(exitCode: 128 + SIGTERM, signal: .terminate, timedOut: true)
                case .signaled(let signal):
                    return TaskResult(exitCode: 128 + signal.rawValue, signal: signal)
                }
            }
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

    /// `poll_oneoff` on one relative clock subscription (how wasi-libc sleeps),
    /// waited for in a way a stop interrupts; `nil` for any other poll, which
    /// WASI itself answers.
    ///
    /// (in, out, nsubscriptions, nevents) with a subscription of 48 bytes:
    /// userdata u64 at 0, tag u8 at 8 (0: clock), clock id u32 at 16, timeout
    /// u64 at 24, precision u64 at 32, flags u16 at 40 (1: absolute); and an
    /// event of 32: userdata u64 at 0, error u16 at 8, type u8 at 10.
    static func sleep(_ values: [Value], in memory: Memory, control: WasmControl) throws -> [Value]? {
        guard let input = ReadOnlyDescriptors.i32(values, 0), let output = ReadOnlyDescriptors.i32(values, 1),
            ReadOnlyDescriptors.i32(values, 2) == 1, let eventCount = ReadOnlyDescriptors.i32(values, 3)
        else { return nil }
        let subscription: (userdata: UInt64, tag: UInt8, timeout: UInt64, flags: UInt16)? =
            memory.withUnsafeMutableBufferPointer(offset: UInt(input), count: 48) { bytes in
                guard bytes.count == 48 else { return nil }
                return (
                    UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)), bytes[8],
                    UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)),
                    UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 40, as: UInt16.self))
                )
            }
        guard let subscription, subscription.tag == 0, subscription.flags & 1 == 0 else { return nil }
        let seconds = Int64(subscription.timeout / 1_000_000_000)
        let nanoseconds = Int64(subscription.timeout % 1_000_000_000)
        if !control.sleep(for: .seconds(seconds) + .nanoseconds(nanoseconds)), let reason = control.cancellation {
            throw WasmCancelled(reason: reason)
        }
        let written: Bool = memory.withUnsafeMutableBufferPointer(offset: UInt(output), count: 32) { bytes in
            guard bytes.count == 32 else { return false }
            bytes.initializeMemory(as: UInt8.self, repeating: 0)
            bytes.storeBytes(of: subscription.userdata.littleEndian, toByteOffset: 0, as: UInt64.self)
            return true
        }
        let counted: Bool = memory.withUnsafeMutableBufferPointer(offset: UInt(eventCount), count: 4) { bytes in
            guard bytes.count == 4 else { return false }
            bytes.storeBytes(of: UInt32(1).littleEndian, toByteOffset: 0, as: UInt32.self)
            return true
        }
        return [.i32(written && counted ? 0 : 21)]  // 21: EFAULT
    }

    /// The descriptor `path_open` stored at `pointer` in guest memory.
    static func readDescriptor(at pointer: UInt32?, in memory: Memory) -> UInt32? {
        guard let pointer else { return nil }
        return memory.withUnsafeMutableBufferPointer(offset: UInt(pointer), count: 4) { bytes in
            bytes.count == 4 ? UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)) : nil
        }
    }
}

/// Which WASI host functions a guest needs. Defining every preview1 function
/// (about 45, each a host function bound to the store) for every guest cost
/// more than running a short one; a guest links only what it imports.
enum WASIImports {
    static let module = "wasi_snapshot_preview1"

    /// The WASI functions `module` imports.
    static func names(importedBy module: Module) -> Set<String> {
        Set(module.imports.lazy.filter { $0.module == Self.module }.map(\.name))
    }

    /// For each capability of `WASICapability.all`, in order, the functions
    /// it provides: learned from WasmKit itself, once.
    private static let provided: [Set<String>] = {
        guard let bridge = try? WASIBridgeToHost() else { return [] }
        defer { try? bridge.close() }
        return WASICapability.all.map { Set(bridge.hostFunctions(capabilities: [$0], stubUnlinked: false).keys) }
    }()

    /// The capabilities that provide any of `names` (every capability when
    /// that cannot be told), and whether they provide all of `names`. When
    /// they do not, the guest must be linked with WasmKit's stubs, so that a
    /// name none provides answers `ENOSYS`.
    static func capabilities(providing names: Set<String>) -> (capabilities: [WASICapability], providesAll: Bool) {
        let all = WASICapability.all
        guard provided.count == all.count else { return (all, false) }
        let chosen = zip(all, provided).filter { !$0.1.isDisjoint(with: names) }
        let covered = chosen.reduce(into: Set<String>()) { $0.formUnion($1.1) }
        return (chosen.map(\.0), names.isSubset(of: covered))
    }
}
