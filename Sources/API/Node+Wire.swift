import Foundation
import Model
import Transport

// The node protocol's messages and the Model values they carry: what a
// client sends when it registers and reports, and what a server reads back.

extension Timestamp {
    /// The time `nanoseconds` after the Unix epoch.
    public init(unixNanoseconds nanoseconds: Int64) {
        self.init(sinceEpoch: .nanoseconds(nanoseconds))
    }
}

extension Caravan_Node_V1_NodeResources {
    public init(_ r: NodeResources) {
        self.init()
        cpu = Int64(r.cpu)
        cores = Int64(r.cores)
        memoryMb = Int64(r.memoryMB)
        diskMb = Int64(r.diskMB)
        devices = r.devices.map { d in
            var group = Caravan_Node_V1_DeviceGroup()
            group.vendor = d.vendor
            group.type = d.type
            group.name = d.name
            group.instanceIds = d.instanceIDs
            group.attributes = d.attributes
            return group
        }
    }

    public var model: NodeResources {
        NodeResources(
            cpu: Int(cpu), cores: Int(cores), memoryMB: Int(memoryMb), diskMB: Int(diskMb),
            devices: devices.map {
                NodeDeviceGroup(vendor: $0.vendor, type: $0.type, name: $0.name, instanceIDs: $0.instanceIds, attributes: $0.attributes)
            })
    }
}

extension Caravan_Node_V1_RegisterRequest {
    /// What a node tells the servers about itself.
    public init(_ node: Node, version: String) {
        self.init()
        nodeID = node.id.rawValue
        name = node.name
        datacenter = node.datacenter
        nodeClass = node.nodeClass
        nodePool = node.nodePool
        attributes = node.attributes
        meta = node.meta
        resources = Caravan_Node_V1_NodeResources(node.resources)
        reserved = Caravan_Node_V1_NodeResources(node.reserved)
        drivers = node.drivers.mapValues { d in
            var info = Caravan_Node_V1_DriverInfo()
            info.detected = d.detected
            info.healthy = d.healthy
            info.attributes = d.attributes
            return info
        }
        datasets = node.datasets.mapValues { d in
            var info = Caravan_Node_V1_DatasetInfo()
            info.sizeBytes = d.sizeBytes
            info.version = d.version ?? ""
            return info
        }
        self.version = version
    }

    /// The node it describes (status and eligibility are the servers' to set).
    /// - Throws: ``WireError`` when a required field is missing.
    public func node() throws(WireError) -> Node {
        guard !nodeID.isEmpty else { throw WireError("node_id is required: a node chooses its ID once and keeps it") }
        guard resources.cpu > 0, resources.memoryMb > 0 else {
            throw WireError("resources.cpu and resources.memory_mb must be greater than 0 (the node offers nothing to place on)")
        }
        return Node(
            id: NodeID(nodeID), name: name.isEmpty ? nodeID : name, datacenter: datacenter.isEmpty ? "dc1" : datacenter,
            nodeClass: nodeClass, nodePool: nodePool.isEmpty ? "default" : nodePool, status: .initializing,
            attributes: attributes, meta: meta, resources: resources.model, reserved: reserved.model,
            drivers: drivers.mapValues { DriverInfo(detected: $0.detected, healthy: $0.healthy, attributes: $0.attributes) },
            datasets: datasets.mapValues { DatasetInfo(sizeBytes: $0.sizeBytes, version: $0.version.isEmpty ? nil : $0.version) })
    }
}

extension Caravan_Node_V1_TaskStatus {
    public init(_ t: TaskState) {
        self.init()
        state = t.state.rawValue
        failed = t.failed
        restarts = Int32(t.restarts)
        startedAtUnixNano = t.startedAt?.unixNanoseconds ?? 0
        finishedAtUnixNano = t.finishedAt?.unixNanoseconds ?? 0
        exitCode = t.exitCode ?? 0
    }

    public var model: TaskState {
        TaskState(
            state: TaskState.State(rawValue: state) ?? .pending, failed: failed, restarts: Int(restarts),
            startedAt: startedAtUnixNano == 0 ? nil : Timestamp(unixNanoseconds: startedAtUnixNano),
            finishedAt: finishedAtUnixNano == 0 ? nil : Timestamp(unixNanoseconds: finishedAtUnixNano),
            exitCode: state == TaskState.State.dead.rawValue || finishedAtUnixNano != 0 ? exitCode : nil)
    }
}

/// A wire message that does not make sense, and why.
public struct WireError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Caravan_Api_V1_NodeSummary {
    public init(_ n: Node, modifyIndex: UInt64) {
        self.init()
        id = n.id.rawValue
        name = n.name
        datacenter = n.datacenter
        nodeClass = n.nodeClass
        nodePool = n.nodePool
        status = n.status.rawValue
        eligibility = n.eligibility.rawValue
        drain = n.drain
        self.modifyIndex = modifyIndex
        drivers = n.drivers.filter { $0.value.detected && $0.value.healthy }.keys.sorted()
        statusUpdatedUnixNano = n.statusUpdatedAt.unixNanoseconds
    }
}
