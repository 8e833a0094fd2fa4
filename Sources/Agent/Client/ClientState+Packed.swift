import Executor
@_spi(PackedForms) import Model

// The hand-written Packed forms of what a client writes on every change of
// a running allocation (see `PackedCodable`): the bytes `Codable` writes.
// Through `Codable`, a checkpoint's encoding was a twentieth of a busy
// client's CPU. The task's driver handle is still coded through `Codable`.

@_spi(PackedForms) extension ClientState.RunState: PackedCodable {
    enum PackedField: String, PackedFields {
        case checkpoint, status
        static let table = PackedFieldTable(Self.self, optional: [.checkpoint])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.checkpoint, checkpoint)
            fields.write(.status, status)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(checkpoint: nil, status: .pending)
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .checkpoint: checkpoint = try value.decode()
            case .status: status = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension AllocationCheckpoint: PackedCodable {
    enum PackedField: String, PackedFields {
        case allocationID, tasks, failure, stopped
        static let table = PackedFieldTable(Self.self, optional: [.failure])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.allocationID, allocationID)
            fields.write(.tasks, tasks)
            fields.write(.failure, failure)
            fields.write(.stopped, stopped)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(allocationID: "", tasks: [:])
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .allocationID: allocationID = try value.decode()
            case .tasks: tasks = try value.decode()
            case .failure: failure = try value.decode()
            case .stopped: stopped = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension AllocationCheckpoint.TaskCheckpoint: PackedCodable {
    enum PackedField: String, PackedFields {
        case state, handle, failures, restartAt, events
        static let table = PackedFieldTable(Self.self, optional: [.handle, .restartAt])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.state, state)
            fields.write(.handle, codable: handle)
            fields.write(.failures, failures)
            fields.write(.restartAt, restartAt)
            fields.write(.events, events)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(state: TaskState(), handle: nil, failures: [], restartAt: nil, events: [])
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .state: state = try value.decode()
            case .handle: handle = try value.decode(codable: TaskHandle?.self)
            case .failures: failures = try value.decode()
            case .restartAt: restartAt = try value.decode()
            case .events: events = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension AllocationRunStatus.TaskEvent: PackedCodable {
    enum PackedField: String, PackedFields {
        case time, kind, message
        static let table = PackedFieldTable(Self.self)
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.time, time)
            fields.write(.kind, kind)
            fields.write(.message, message)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(time: .epoch, kind: .started, message: "")
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .time: time = try value.decode()
            case .kind: kind = try value.decode()
            case .message: message = try value.decode()
            }
        }
    }
}
