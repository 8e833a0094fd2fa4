@_spi(PackedForms) import Model

// The hand-written Packed forms of the commands (see `PackedCodable`): the
// bytes `Codable` writes, without its containers. Every server decodes every
// entry; through `Codable`, the command's own layers (the case, its payload,
// their keys) were a third of a follower's decoding.

@_spi(PackedForms) extension ServerCommand: PackedCodable {
    /// The case's name keys a map of its associated values: `_0`, or their labels.
    enum PackedField: String, PackedFields {
        case registerJob, stopJob, applyPlan, upsertEvaluations, updateNode, updateAllocations, describeMembers
        static let table = PackedFieldTable(Self.self, optional: Self.allCases)
    }

    enum PayloadField: String, PackedFields {
        case _0, at
        static let table = PackedFieldTable(Self.self, optional: [.at])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { cases in
            switch self {
            case .registerJob(let r): cases.write(.registerJob, Payload(r))
            case .stopJob(let s): cases.write(.stopJob, Payload(s))
            case .applyPlan(let p): cases.write(.applyPlan, Payload(p))
            case .upsertEvaluations(let e, let at): cases.write(.upsertEvaluations, ListPayload(e, at: at))
            case .updateNode(let n): cases.write(.updateNode, Payload(n))
            case .updateAllocations(let u): cases.write(.updateAllocations, Payload(u))
            case .describeMembers(let m): cases.write(.describeMembers, ListPayload(m))
            }
        }
    }

    public init(unpacking value: PackedValue) throws {
        var found: ServerCommand?
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .registerJob: found = .registerJob(try (value.decode() as Payload<RegisterJob>).value)
            case .stopJob: found = .stopJob(try (value.decode() as Payload<StopJob>).value)
            case .applyPlan: found = .applyPlan(try (value.decode() as Payload<PlanResult>).value)
            case .upsertEvaluations:
                let payload: ListPayload<Evaluation> = try value.decode()
                guard let at = payload.at else { throw Self.missing("at", in: "upsertEvaluations") }
                found = .upsertEvaluations(payload.values, at: at)
            case .updateNode: found = .updateNode(try (value.decode() as Payload<NodeUpdate>).value)
            case .updateAllocations: found = .updateAllocations(try (value.decode() as Payload<AllocationUpdates>).value)
            case .describeMembers: found = .describeMembers(try (value.decode() as ListPayload<MemberDescription>).values)
            }
        }
        guard let found else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "a command of no case this version knows"))
        }
        self = found
    }

    static func missing(_ key: String, in command: String) -> DecodingError {
        DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(command) has no \"\(key)\""))
    }

    /// A case's one associated value: `{_0: value}`.
    struct Payload<Value: PackedCodable>: PackedCodable {
        var value: Value

        init(_ value: Value) { self.value = value }

        func pack(into writer: PackedWriter) {
            writer.map(PayloadField.self) { $0.write(._0, value) }
        }

        init(unpacking value: PackedValue) throws {
            var found: Value?
            try value.fields(PayloadField.self) { field, value in
                if field == ._0 { found = try value.decode() }
            }
            guard let found else { throw ServerCommand.missing("_0", in: "\(Value.self)") }
            self.value = found
        }
    }

    /// A case's list, and the time for upsertEvaluations: `{_0: [values], at: time}`.
    struct ListPayload<Element: PackedCodable>: PackedCodable {
        var values: [Element]
        var at: Timestamp?

        init(_ values: [Element], at: Timestamp? = nil) {
            self.values = values
            self.at = at
        }

        func pack(into writer: PackedWriter) {
            writer.map(PayloadField.self) { fields in
                fields.write(._0, values)
                fields.write(.at, at)
            }
        }

        init(unpacking value: PackedValue) throws {
            var found: [Element]?
            var at: Timestamp?
            try value.fields(PayloadField.self) { field, value in
                switch field {
                case ._0: found = try value.decode()
                case .at: at = try value.decode()
                }
            }
            guard let found else { throw ServerCommand.missing("_0", in: "\(Element.self) list") }
            self.init(found, at: at)
        }
    }
}

@_spi(PackedForms) extension ServerCommand.RegisterJob: PackedCodable {
    enum PackedField: String, PackedFields {
        case spec, specJSON, evaluationID, idempotencyKey, at
        static let table = PackedFieldTable(Self.self, optional: [.spec, .specJSON, .idempotencyKey])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.spec, codable: spec)
            fields.write(.evaluationID, evaluationID)
            fields.write(.idempotencyKey, idempotencyKey)
            fields.write(.at, at)
        }
    }

    public init(unpacking value: PackedValue) throws {
        var spec: JobSpec?
        var evaluationID = EvaluationID("")
        var idempotencyKey: String?
        var at = Timestamp.epoch
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .spec: spec = try value.decode(codable: JobSpec.self)
            case .specJSON: spec = try JobSpec(document: SpecValue(json: (value.decode() as String).utf8))
            case .evaluationID: evaluationID = try value.decode()
            case .idempotencyKey: idempotencyKey = try value.decode()
            case .at: at = try value.decode()
            }
        }
        guard let spec else { throw ServerCommand.missing("spec", in: "registerJob") }
        self.init(spec: spec, evaluationID: evaluationID, idempotencyKey: idempotencyKey, at: at)
    }
}

@_spi(PackedForms) extension ServerCommand.StopJob: PackedCodable {
    enum PackedField: String, PackedFields {
        case key, purge, evaluationID, at
        static let table = PackedFieldTable(Self.self)
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.key, key)
            fields.write(.purge, purge)
            fields.write(.evaluationID, evaluationID)
            fields.write(.at, at)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(key: JobKey(id: ""), purge: false, evaluationID: "", at: .epoch)
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .key: key = try value.decode()
            case .purge: purge = try value.decode()
            case .evaluationID: evaluationID = try value.decode()
            case .at: at = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension ServerCommand.NodeUpdate: PackedCodable {
    enum PackedField: String, PackedFields {
        case node, evaluations, at
        static let table = PackedFieldTable(Self.self)
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.node, codable: node)
            fields.write(.evaluations, evaluations)
            fields.write(.at, at)
        }
    }

    public init(unpacking value: PackedValue) throws {
        var node: Node?
        var evaluations: [Evaluation] = []
        var at = Timestamp.epoch
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .node: node = try value.decode(codable: Node.self)
            case .evaluations: evaluations = try value.decode()
            case .at: at = try value.decode()
            }
        }
        guard let node else { throw ServerCommand.missing("node", in: "updateNode") }
        self.init(node: node, evaluations: evaluations, at: at)
    }
}

@_spi(PackedForms) extension ServerCommand.AllocationUpdates: PackedCodable {
    enum PackedField: String, PackedFields {
        case nodeID, updates, evaluationIDs, evaluations, at
        static let table = PackedFieldTable(Self.self, optional: [.evaluationIDs, .evaluations])
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.nodeID, nodeID)
            fields.write(.updates, updates)
            if !evaluationIDs.isEmpty { fields.write(.evaluationIDs, evaluationIDs) }
            if !evaluations.isEmpty { fields.write(.evaluations, evaluations) }
            fields.write(.at, at)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(nodeID: "", updates: [], evaluationIDs: [], at: .epoch)
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .nodeID: nodeID = try value.decode()
            case .updates: updates = try value.decode()
            case .evaluationIDs: evaluationIDs = try value.decode()
            case .evaluations: evaluations = try value.decode()
            case .at: at = try value.decode()
            }
        }
    }
}

@_spi(PackedForms) extension ServerCommand.PlanResult: PackedCodable {
    enum PackedField: String, PackedFields {
        case plan, evaluation, at
        static let table = PackedFieldTable(Self.self)
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.plan, plan)
            fields.write(.evaluation, evaluation)
            fields.write(.at, at)
        }
    }

    public init(unpacking value: PackedValue) throws {
        var plan = Plan(evaluationID: "", jobKey: JobKey(id: ""))
        var evaluation: Evaluation?
        var at = Timestamp.epoch
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .plan: plan = try value.decode()
            case .evaluation: evaluation = try value.decode()
            case .at: at = try value.decode()
            }
        }
        guard let evaluation else { throw ServerCommand.missing("evaluation", in: "applyPlan") }
        self.init(plan: plan, evaluation: evaluation, at: at)
    }
}

@_spi(PackedForms) extension MemberDescription: PackedCodable {
    enum PackedField: String, PackedFields {
        case id, name, address
        static let table = PackedFieldTable(Self.self)
    }

    public func pack(into writer: PackedWriter) {
        writer.map(PackedField.self) { fields in
            fields.write(.id, id)
            fields.write(.name, name)
            fields.write(.address, address)
        }
    }

    public init(unpacking value: PackedValue) throws {
        self.init(id: 0, name: "", address: "")
        try value.fields(PackedField.self) { field, value in
            switch field {
            case .id: id = try value.decode()
            case .name: name = try value.decode()
            case .address: address = try value.decode()
            }
        }
    }
}
