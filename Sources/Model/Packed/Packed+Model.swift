// The hand-written Packed forms (``PackedCodable``) of the values every
// plan, status update, node watch and client checkpoint carries. Each writes
// the bytes its `Codable` conformance writes; `PackedCodableTests` holds
// them to it.

@_spi(PackedForms) extension Duration: PackedCodable {
    /// As `Codable`: a list of the high (signed) and low 64 bits of its attoseconds.
    public func pack(into writer: PackedWriter) {
        let attoseconds = self.attoseconds
        writer.list([0, 1]) { half in
            if half == 0 {
                writer.write(signed: Int64(truncatingIfNeeded: attoseconds >> 64))
            } else {
                writer.write(unsigned: UInt64(truncatingIfNeeded: attoseconds))
            }
        }
    }

    public init(unpacking value: PackedValue) throws {
        let reader = value.reader
        let (body, count) = try reader.container(.list, at: value.offset, [], as: Duration.self)
        guard count == 2 else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "a duration is 2 integers, not \(count)"))
        }
        let high = try reader.integer(Int64.self, at: body.lowerBound, [])
        let low = try reader.integer(UInt64.self, at: reader.skip(from: body.lowerBound, codingPath: []), [])
        self.init(attoseconds: Int128(high) << 64 | Int128(low))
    }
}

@_spi(PackedForms) extension Identifier: PackedCodable {
    public func pack(into writer: PackedWriter) { writer.write(rawValue) }
    public init(unpacking value: PackedValue) throws { self.init(try value.decode() as String) }
}

@_spi(PackedForms) extension Timestamp: PackedCodable {
    enum PackedField: String, PackedFields {
        case sinceEpoch
        static let table = PackedFieldTable(Self.self)
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { $0.write(.sinceEpoch, sinceEpoch) }
    }

    public init(unpacking value: PackedValue) throws {
        self = .epoch
        try value.fields(PackedField.self) { _, value in sinceEpoch = try value.decode() }
    }
}

@_spi(PackedForms) extension TaskState: PackedCodable {
    enum PackedField: String, PackedFields {
        case state, failed, restarts, startedAt, finishedAt, lastRestart, exitCode
        static let table = PackedFieldTable(Self.self, optional: [.startedAt, .finishedAt, .lastRestart, .exitCode])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.state, state)
            fields.write(.failed, failed)
            fields.write(.restarts, restarts)
            fields.write(.startedAt, startedAt)
            fields.write(.finishedAt, finishedAt)
            fields.write(.lastRestart, lastRestart)
            fields.write(.exitCode, exitCode)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init()
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .state: state = try value.decode()
            case .failed: failed = try value.decode()
            case .restarts: restarts = try value.decode()
            case .startedAt: startedAt = try value.decode()
            case .finishedAt: finishedAt = try value.decode()
            case .lastRestart: lastRestart = try value.decode()
            case .exitCode: exitCode = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension RescheduleEvent: PackedCodable {
    enum PackedField: String, PackedFields {
        case time, previousAllocation, previousNode, delay
        static let table = PackedFieldTable(Self.self)
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.time, time)
            fields.write(.previousAllocation, previousAllocation)
            fields.write(.previousNode, previousNode)
            fields.write(.delay, delay)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(time: .epoch, previousAllocation: "", previousNode: "", delay: .zero)
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .time: time = try value.decode()
            case .previousAllocation: previousAllocation = try value.decode()
            case .previousNode: previousNode = try value.decode()
            case .delay: delay = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension AllocatedDevice: PackedCodable {
    enum PackedField: String, PackedFields {
        case group, instanceIDs
        static let table = PackedFieldTable(Self.self)
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.group, group)
            fields.write(.instanceIDs, instanceIDs)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(group: "", instanceIDs: [])
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .group: group = try value.decode()
            case .instanceIDs: instanceIDs = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension AllocatedResources: PackedCodable {
    enum PackedField: String, PackedFields {
        case cpu, cores, memoryMB, memoryMaxMB, diskMB, devices
        static let table = PackedFieldTable(Self.self, optional: [.memoryMaxMB])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.cpu, cpu)
            fields.write(.cores, cores)
            fields.write(.memoryMB, memoryMB)
            fields.write(.memoryMaxMB, memoryMaxMB)
            fields.write(.diskMB, diskMB)
            fields.write(.devices, devices)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init()
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .cpu: cpu = try value.decode()
            case .cores: cores = try value.decode()
            case .memoryMB: memoryMB = try value.decode()
            case .memoryMaxMB: memoryMaxMB = try value.decode()
            case .diskMB: diskMB = try value.decode()
            case .devices: devices = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension AllocationDeploymentStatus: PackedCodable {
    enum PackedField: String, PackedFields {
        case healthy, canary, timestamp
        static let table = PackedFieldTable(Self.self, optional: [.healthy, .timestamp])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.healthy, healthy)
            fields.write(.canary, canary)
            fields.write(.timestamp, timestamp)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init()
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .healthy: healthy = try value.decode()
            case .canary: canary = try value.decode()
            case .timestamp: timestamp = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension Allocation: PackedCodable {
    enum PackedField: String, PackedFields {
        case id, name, index, namespace, jobID, jobVersion, jobType, jobPriority, group, groupFingerprint
        case nodeID, nodeName, resources, desiredStatus, desiredDescription, clientStatus, clientDescription
        case taskStates, rescheduleTracker, previousAllocation, nextAllocation, deploymentID, deploymentStatus
        case preemptedBy, createdAt, modifiedAt, disconnectedAt, clientSequence
        static let table = PackedFieldTable(Self.self, optional: [
            .previousAllocation, .nextAllocation, .deploymentID, .deploymentStatus, .preemptedBy, .disconnectedAt,
            .clientSequence,
        ])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.id, id)
            fields.write(.name, name)
            fields.write(.index, index)
            fields.write(.namespace, namespace)
            fields.write(.jobID, jobID)
            fields.write(.jobVersion, jobVersion)
            fields.write(.jobType, jobType)
            fields.write(.jobPriority, jobPriority)
            fields.write(.group, group)
            fields.write(.groupFingerprint, groupFingerprint)
            fields.write(.nodeID, nodeID)
            fields.write(.nodeName, nodeName)
            fields.write(.resources, resources)
            fields.write(.desiredStatus, desiredStatus)
            fields.write(.desiredDescription, desiredDescription)
            fields.write(.clientStatus, clientStatus)
            fields.write(.clientDescription, clientDescription)
            fields.write(.taskStates, taskStates)
            fields.write(.rescheduleTracker, rescheduleTracker)
            fields.write(.previousAllocation, previousAllocation)
            fields.write(.nextAllocation, nextAllocation)
            fields.write(.deploymentID, deploymentID)
            fields.write(.deploymentStatus, deploymentStatus)
            fields.write(.preemptedBy, preemptedBy)
            fields.write(.createdAt, createdAt)
            fields.write(.modifiedAt, modifiedAt)
            fields.write(.disconnectedAt, disconnectedAt)
            fields.write(.clientSequence, clientSequence)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(id: "", name: "", jobID: "", group: "", nodeID: "", nodeName: "", resources: AllocatedResources())
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .id: id = try value.decode()
            case .name: name = try value.decode()
            case .index: index = try value.decode()
            case .namespace: namespace = try value.decode()
            case .jobID: jobID = try value.decode()
            case .jobVersion: jobVersion = try value.decode()
            case .jobType: jobType = try value.decode()
            case .jobPriority: jobPriority = try value.decode()
            case .group: group = try value.decode()
            case .groupFingerprint: groupFingerprint = try value.decode()
            case .nodeID: nodeID = try value.decode()
            case .nodeName: nodeName = try value.decode()
            case .resources: resources = try value.decode()
            case .desiredStatus: desiredStatus = try value.decode()
            case .desiredDescription: desiredDescription = try value.decode()
            case .clientStatus: clientStatus = try value.decode()
            case .clientDescription: clientDescription = try value.decode()
            case .taskStates: taskStates = try value.decode()
            case .rescheduleTracker: rescheduleTracker = try value.decode()
            case .previousAllocation: previousAllocation = try value.decode()
            case .nextAllocation: nextAllocation = try value.decode()
            case .deploymentID: deploymentID = try value.decode()
            case .deploymentStatus: deploymentStatus = try value.decode()
            case .preemptedBy: preemptedBy = try value.decode()
            case .createdAt: createdAt = try value.decode()
            case .modifiedAt: modifiedAt = try value.decode()
            case .disconnectedAt: disconnectedAt = try value.decode()
            case .clientSequence: clientSequence = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension Evaluation: PackedCodable {
    enum PackedField: String, PackedFields {
        case id, namespace, jobID, jobType, priority, trigger, status, statusDescription, nodeID, deploymentID
        case waitUntil, previousEvaluation, createdAt
        static let table = PackedFieldTable(Self.self, optional: [.nodeID, .deploymentID, .waitUntil, .previousEvaluation])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.id, id)
            fields.write(.namespace, namespace)
            fields.write(.jobID, jobID)
            fields.write(.jobType, jobType)
            fields.write(.priority, priority)
            fields.write(.trigger, trigger)
            fields.write(.status, status)
            fields.write(.statusDescription, statusDescription)
            fields.write(.nodeID, nodeID)
            fields.write(.deploymentID, deploymentID)
            fields.write(.waitUntil, waitUntil)
            fields.write(.previousEvaluation, previousEvaluation)
            fields.write(.createdAt, createdAt)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(id: "", jobID: "")
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .id: id = try value.decode()
            case .namespace: namespace = try value.decode()
            case .jobID: jobID = try value.decode()
            case .jobType: jobType = try value.decode()
            case .priority: priority = try value.decode()
            case .trigger: trigger = try value.decode()
            case .status: status = try value.decode()
            case .statusDescription: statusDescription = try value.decode()
            case .nodeID: nodeID = try value.decode()
            case .deploymentID: deploymentID = try value.decode()
            case .waitUntil: waitUntil = try value.decode()
            case .previousEvaluation: previousEvaluation = try value.decode()
            case .createdAt: createdAt = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension JobKey: PackedCodable {
    enum PackedField: String, PackedFields {
        case namespace, id
        static let table = PackedFieldTable(Self.self)
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.namespace, namespace)
            fields.write(.id, id)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(id: "")
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .namespace: namespace = try value.decode()
            case .id: id = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension AllocationStop: PackedCodable {
    enum PackedField: String, PackedFields {
        case allocationID, nodeID, reason, clientStatus, replacement
        static let table = PackedFieldTable(Self.self, optional: [.clientStatus, .replacement])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.allocationID, allocationID)
            fields.write(.nodeID, nodeID)
            fields.write(.reason, reason)
            fields.write(.clientStatus, clientStatus)
            fields.write(.replacement, replacement)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(allocationID: "", nodeID: "", reason: "")
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .allocationID: allocationID = try value.decode()
            case .nodeID: nodeID = try value.decode()
            case .reason: reason = try value.decode()
            case .clientStatus: clientStatus = try value.decode()
            case .replacement: replacement = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension Preemption: PackedCodable {
    enum PackedField: String, PackedFields {
        case allocationID, nodeID, jobKey, jobPriority, preemptedBy
        static let table = PackedFieldTable(Self.self)
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.allocationID, allocationID)
            fields.write(.nodeID, nodeID)
            fields.write(.jobKey, jobKey)
            fields.write(.jobPriority, jobPriority)
            fields.write(.preemptedBy, preemptedBy)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(allocationID: "", nodeID: "", jobKey: JobKey(id: ""), jobPriority: 0, preemptedBy: "")
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .allocationID: allocationID = try value.decode()
            case .nodeID: nodeID = try value.decode()
            case .jobKey: jobKey = try value.decode()
            case .jobPriority: jobPriority = try value.decode()
            case .preemptedBy: preemptedBy = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension DesiredChanges: PackedCodable {
    enum PackedField: String, PackedFields {
        case place, stop, inPlaceUpdate, destructiveUpdate, migrate, canary, ignore, preempt, lost, disconnect, reconnect, reschedule
        static let table = PackedFieldTable(Self.self)
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.place, place)
            fields.write(.stop, stop)
            fields.write(.inPlaceUpdate, inPlaceUpdate)
            fields.write(.destructiveUpdate, destructiveUpdate)
            fields.write(.migrate, migrate)
            fields.write(.canary, canary)
            fields.write(.ignore, ignore)
            fields.write(.preempt, preempt)
            fields.write(.lost, lost)
            fields.write(.disconnect, disconnect)
            fields.write(.reconnect, reconnect)
            fields.write(.reschedule, reschedule)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init()
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .place: place = try value.decode()
            case .stop: stop = try value.decode()
            case .inPlaceUpdate: inPlaceUpdate = try value.decode()
            case .destructiveUpdate: destructiveUpdate = try value.decode()
            case .migrate: migrate = try value.decode()
            case .canary: canary = try value.decode()
            case .ignore: ignore = try value.decode()
            case .preempt: preempt = try value.decode()
            case .lost: lost = try value.decode()
            case .disconnect: disconnect = try value.decode()
            case .reconnect: reconnect = try value.decode()
            case .reschedule: reschedule = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension Plan: PackedCodable {
    enum PackedField: String, PackedFields {
        case evaluationID, jobKey, jobVersion, placements, updates, stops, preemptions, failedPlacements, deployment
        case revertToJobVersion, followUpEvaluations, blockedEvaluation, desiredChanges
        static let table = PackedFieldTable(Self.self, optional: [.jobVersion, .deployment, .revertToJobVersion, .blockedEvaluation])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.evaluationID, evaluationID)
            fields.write(.jobKey, jobKey)
            fields.write(.jobVersion, jobVersion)
            fields.write(.placements, placements)
            fields.write(.updates, updates)
            fields.write(.stops, stops)
            fields.write(.preemptions, preemptions)
            fields.write(.failedPlacements, codable: failedPlacements)
            fields.write(.deployment, codable: deployment)
            fields.write(.revertToJobVersion, revertToJobVersion)
            fields.write(.followUpEvaluations, followUpEvaluations)
            fields.write(.blockedEvaluation, blockedEvaluation)
            fields.write(.desiredChanges, desiredChanges)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(evaluationID: "", jobKey: JobKey(id: ""))
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .evaluationID: evaluationID = try value.decode()
            case .jobKey: jobKey = try value.decode()
            case .jobVersion: jobVersion = try value.decode()
            case .placements: placements = try value.decode()
            case .updates: updates = try value.decode()
            case .stops: stops = try value.decode()
            case .preemptions: preemptions = try value.decode()
            case .failedPlacements: failedPlacements = try value.decode(codable: [FailedPlacement].self)
            case .deployment: deployment = try value.decode(codable: Deployment?.self)
            case .revertToJobVersion: revertToJobVersion = try value.decode()
            case .followUpEvaluations: followUpEvaluations = try value.decode()
            case .blockedEvaluation: blockedEvaluation = try value.decode()
            case .desiredChanges: desiredChanges = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension ClientAllocationUpdate: PackedCodable {
    enum PackedField: String, PackedFields {
        case allocationID, clientStatus, clientDescription, taskStates, observedAt, sequence
        static let table = PackedFieldTable(Self.self, optional: [.sequence])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.allocationID, allocationID)
            fields.write(.clientStatus, clientStatus)
            fields.write(.clientDescription, clientDescription)
            fields.write(.taskStates, taskStates)
            fields.write(.observedAt, observedAt)
            fields.write(.sequence, sequence)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(allocationID: "", clientStatus: .pending, observedAt: .epoch)
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .allocationID: allocationID = try value.decode()
            case .clientStatus: clientStatus = try value.decode()
            case .clientDescription: clientDescription = try value.decode()
            case .taskStates: taskStates = try value.decode()
            case .observedAt: observedAt = try value.decode()
            case .sequence: sequence = try value.decode()
            }
        }
    }
}
