import Foundation
import Transport

/// What a benchmark job's one task runs: `/bin/true` under the exec driver,
/// or its WASI twin under the in-process wasm driver (no process to start).
public struct TrueTask: Sendable {
    public let driver: String
    let config: String

    public static let exec = TrueTask(driver: "exec", config: #"{"command": "/bin/true"}"#)

    /// The wasm twin; its module is written to `directory/true.wasm`, which
    /// the clients must be able to read (they run on this host).
    public static func wasm(in directory: String) throws -> TrueTask {
        let path = directory + "/true.wasm"
        try Data(trueModule).write(to: URL(fileURLWithPath: path))
        return TrueTask(driver: "wasm", config: #"{"module": "\#(path)"}"#)
    }

    /// A WASI module whose `_start` returns at once (exit code 0), with the
    /// one page of memory WASI hosts look for.
    private static let trueModule: [UInt8] = [
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,  // "\0asm", version 1
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,  // types: () -> ()
        0x03, 0x02, 0x01, 0x00,  // functions: one of type 0
        0x05, 0x03, 0x01, 0x00, 0x01,  // memory: one, at least one page
        0x07, 0x13, 0x02,  // exports: two
        0x06, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x00,  // "_start": function 0
        0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00,  // "memory": memory 0
        0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,  // code: no locals, end
    ]
}

/// A registration of batch job `id`: one task running `true` (see
/// ``TrueTask``) with the smallest resources, the job every cluster benchmark submits.
public func registerTrueJob(_ id: String, task: TrueTask = .exec) -> Caravan_Api_V1_RegisterJobRequest {
    var request = Caravan_Api_V1_RegisterJobRequest()
    request.specJson = Data("""
        {"id": "\(id)", "type": "batch", "groups": [{"name": "g", "tasks": [{"name": "t", "driver": "\(task.driver)",
         "config": \(task.config), "resources": {"cpu": 10, "memory_mb": 8}}]}]}
        """.utf8)
    return request
}
