import Foundation
import Model
import Transport

// The mapping between Model values and their wire form. Full values travel
// as JSON of the Model type (`spec_json`, `allocation_json`, ...), beside the
// summary fields a list shows, so the wire does not duplicate the Model.

extension Timestamp {
    /// Nanoseconds since the Unix epoch, as the wire carries times.
    public var unixNanoseconds: Int64 {
        let (seconds, attoseconds) = sinceEpoch.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// JSON as the wire carries Model values: sorted keys, so equal values encode equally.
public enum WireJSON {
    /// `value` as JSON with sorted keys; empty when it cannot be (a NaN).
    /// Written through Packed (``Packed/jsonText(_:)``): the same text as
    /// `JSONEncoder`'s, several times faster; `JSONEncoder` only for a value
    /// Packed refuses.
    public static func encode(_ value: some Encodable) -> Data {
        if let packed = try? Packed.encode(value), let text = Packed.jsonText(packed) { return Data(text) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)) ?? Data()
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try JSONDecoder().decode(type, from: data)
    }
}

/// A Model value that travels as Packed (`*_packed`) when the receiver asked
/// for it, else as JSON (`*_json`).
public enum WirePayload {
    /// The value from whichever of the two the sender filled.
    public static func decode<T: Decodable>(_ type: T.Type, packed: Data, json: Data) throws -> T {
        packed.isEmpty ? try WireJSON.decode(type, from: json) : try Packed.decode(type, from: [UInt8](packed))
    }
}

extension Caravan_Api_V1_Event {
    /// The changed value, read as `type` (which may read only part of it).
    public func payload<T: Decodable>(as type: T.Type) throws -> T {
        try WirePayload.decode(type, packed: payloadPacked, json: payloadJson)
    }
}

extension Caravan_Api_V1_JobSummary {
    public init(job: Job, status: String, createIndex: UInt64, modifyIndex: UInt64, allocationCounts: [String: UInt32]) {
        self.init()
        id = job.spec.id
        namespace = job.spec.namespace
        name = job.spec.name
        type = job.spec.type.rawValue
        priority = Int32(job.spec.priority)
        self.status = status
        stop = job.stopped
        version = UInt64(job.version)
        datacenters = job.spec.datacenters
        self.createIndex = createIndex
        self.modifyIndex = modifyIndex
        submitTimeUnixNano = job.submittedAt.unixNanoseconds
        self.allocationCounts = allocationCounts
    }
}

extension Caravan_Api_V1_EvaluationSummary {
    public init(_ e: Evaluation, modifyIndex: UInt64) {
        self.init()
        id = e.id.rawValue
        namespace = e.namespace
        jobID = e.jobID
        triggeredBy = e.trigger.rawValue
        status = e.status.rawValue
        statusDescription = e.statusDescription
        priority = Int32(e.priority)
        nodeID = e.nodeID?.rawValue ?? ""
        self.modifyIndex = modifyIndex
        createTimeUnixNano = e.createdAt.unixNanoseconds
    }
}

extension Caravan_Api_V1_AllocationSummary {
    public init(_ a: Allocation) {
        self.init()
        id = a.id.rawValue
        name = a.name
        namespace = a.namespace
        jobID = a.jobID
        jobVersion = UInt64(a.jobVersion)
        group = a.group
        nodeID = a.nodeID.rawValue
        nodeName = a.nodeName
        desiredStatus = a.desiredStatus.rawValue
        clientStatus = a.clientStatus.rawValue
        clientDescription = a.clientDescription
        createTimeUnixNano = a.createdAt.unixNanoseconds
        modifyTimeUnixNano = a.modifiedAt.unixNanoseconds
    }
}
