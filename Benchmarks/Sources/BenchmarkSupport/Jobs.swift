import Foundation
import Transport

/// A registration of batch job `id`: one exec task running `/bin/true` with
/// the smallest resources, the job every cluster benchmark submits.
public func registerTrueJob(_ id: String) -> Caravan_Api_V1_RegisterJobRequest {
    var request = Caravan_Api_V1_RegisterJobRequest()
    request.specJson = Data("""
        {"id": "\(id)", "type": "batch", "groups": [{"name": "g", "tasks": [{"name": "t", "driver": "exec",
         "config": {"command": "/bin/true"}, "resources": {"cpu": 10, "memory_mb": 8}}]}]}
        """.utf8)
    return request
}
