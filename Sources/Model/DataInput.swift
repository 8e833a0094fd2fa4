/// Where a task's input data comes from.
public enum DataSource: Hashable, Sendable {
    /// A dataset that nodes advertise (see ``Node/datasets``), by name.
    case dataset(String)
    /// A path on the host.
    case hostPath(String)
    /// A URL fetched before the task starts.
    case url(String)
}

/// How strongly a task wants to run where its input dataset lives.
public enum DataLocality: String, CaseIterable, Hashable, Codable, Sendable {
    /// Only on nodes that hold the dataset.
    case required
    /// Prefer nodes holding the most bytes of the inputs (the default).
    case preferred
    /// Anywhere; the data is fetched.
    case anywhere
}

/// Data a task reads: a dataset, a host path or a URL.
public struct DataInput: Hashable, Sendable {
    /// The name the task refers to it by.
    public var name: String
    public var source: DataSource
    public var locality: DataLocality
    /// Where it appears inside the task's directory; nil for the runtime's default.
    public var destination: String?

    public init(name: String, source: DataSource, locality: DataLocality = .preferred, destination: String? = nil) {
        self.name = name
        self.source = source
        self.locality = locality
        self.destination = destination
    }

    /// The dataset name when the source is a dataset.
    public var datasetName: String? {
        if case .dataset(let d) = source { return d }
        return nil
    }
}

/// Data a task produces: a path inside its directory, optionally published as
/// a dataset that the node then advertises.
public struct DataOutput: Hashable, Sendable {
    public var name: String
    public var path: String
    public var dataset: String?

    public init(name: String, path: String, dataset: String? = nil) {
        self.name = name
        self.path = path
        self.dataset = dataset
    }
}

extension DataInput: SpecMappable {
    public static func read(from r: inout SpecReader) -> DataInput {
        let name = r.string("name") ?? ""
        let dataset = r.string("dataset")
        let path = r.string("path")
        let url = r.string("url")
        let given = [dataset, path, url].compactMap { $0 }
        let source: DataSource
        if let dataset {
            source = .dataset(dataset)
        } else if let path {
            source = .hostPath(path)
        } else if let url {
            source = .url(url)
        } else {
            source = .dataset("")
        }
        if given.count != 1 {
            r.diagnostics.report(r.path, "give exactly one of \"dataset\", \"path\" or \"url\"")
        }
        let locality = r.choice("locality", DataLocality.self) ?? .preferred
        return DataInput(name: name, source: source, locality: locality, destination: r.string("destination"))
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("name", name)
        switch source {
        case .dataset(let d): w.put("dataset", d)
        case .hostPath(let p): w.put("path", p)
        case .url(let u): w.put("url", u)
        }
        w.put("locality", locality.rawValue)
        w.put("destination", destination)
        return w.value
    }
}

extension DataOutput: SpecMappable {
    public static func read(from r: inout SpecReader) -> DataOutput {
        DataOutput(name: r.string("name") ?? "", path: r.string("path") ?? "", dataset: r.string("dataset"))
    }

    public var specValue: SpecValue {
        var w = SpecWriter()
        w.put("name", name)
        w.put("path", path)
        w.put("dataset", dataset)
        return w.value
    }
}
