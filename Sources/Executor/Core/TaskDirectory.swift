import Foundation

/// The directory one task runs in, laid out the same for every driver:
///
/// | path | what |
/// |---|---|
/// | `local/` | the task's scratch space |
/// | `secrets/` | secrets for the task (mode 0700) |
/// | `inputs/<name>` | input data, read-only to the task where the driver can enforce it (only when there are inputs) |
/// | `outputs/` | results the task leaves behind |
/// | `logs/` | `<task>.stdout.N` and `<task>.stderr.N`, rotating |
/// | `.caravan/` | the driver's own state (not for the task), made by a driver that keeps any |
///
/// Docker mounts these at `/local`, `/secrets`, `/inputs/<name>` (read-only) and
/// `/outputs`; the WASM driver preopens them at the same guest paths; the exec
/// driver runs in `root` with `inputs/<name>` as symbolic links to the data.
public struct TaskDirectory: Sendable, Hashable, Codable {
    /// The directory's absolute path.
    public let root: String
    /// Input data sets by name: the host path each one is read from.
    public let inputs: [String: String]

    /// The task's scratch space.
    public var local: String { root + "/local" }
    /// Secrets for the task.
    public var secrets: String { root + "/secrets" }
    /// Where input data sets appear, one entry per name.
    public var inputsDirectory: String { root + "/inputs" }
    /// Results the task leaves behind.
    public var outputs: String { root + "/outputs" }
    /// Rotating stdout and stderr files.
    public var logs: String { root + "/logs" }
    /// The drivers' own state.
    public var driverState: String { root + "/.caravan" }

    /// Describes a task directory without touching the disk (see ``create(at:inputs:)``).
    public init(root: String, inputs: [String: String] = [:]) {
        self.root = root
        self.inputs = inputs
    }

    /// Creates (or completes) the task directory at `root`.
    ///
    /// - Parameters:
    ///   - root: where the directory goes; created with its parents when missing.
    ///   - inputs: input data sets, by name, to their host paths. Names must be
    ///     single path components; paths must exist.
    public static func create(at root: String, inputs: [String: String] = [:]) throws(TaskDriverError) -> TaskDirectory {
        let directory = TaskDirectory(root: DirectoryTree.normalized(root), inputs: inputs)
        let fm = FileManager.default
        do {
            // Plain mkdirs, not Foundation's (which builds URLs and walks
            // every parent again); `inputs/` only when there are inputs and
            // `.caravan/` only by a driver that keeps state (exec): on a busy
            // client, with a task directory per allocation, creating and
            // removing directories was a fifth of its CPU.
            if let failure = DirectoryTree.create(atPath: directory.root) {
                throw TaskDriverError.taskDirectoryFailed(path: failure.path, reason: String(cString: strerror(failure.errno)))
            }
            var children = [(directory.local, 0o755), (directory.outputs, 0o755), (directory.logs, 0o755),
                            (directory.secrets, 0o700)]
            if !inputs.isEmpty { children.append((directory.inputsDirectory, 0o755)) }
            for (path, mode) in children {
                if mkdir(path, mode_t(mode)) != 0 && errno != EEXIST {
                    throw TaskDriverError.taskDirectoryFailed(path: path, reason: String(cString: strerror(errno)))
                }
            }
            for (name, hostPath) in inputs {
                guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                    throw TaskDriverError.taskDirectoryFailed(path: root, reason: "input name \"\(name)\" must be a single path component")
                }
                guard fm.fileExists(atPath: hostPath) else {
                    throw TaskDriverError.taskDirectoryFailed(path: root, reason: "input \"\(name)\" points at \(hostPath), which does not exist")
                }
                let link = directory.inputsDirectory + "/" + name
                if (try? fm.destinationOfSymbolicLink(atPath: link)) != hostPath {
                    try? fm.removeItem(atPath: link)
                    try fm.createSymbolicLink(atPath: link, withDestinationPath: hostPath)
                }
            }
        } catch let error as TaskDriverError {
            throw error
        } catch {
            throw .taskDirectoryFailed(path: root, reason: "\(error)")
        }
        return directory
    }

    /// The guest/container path of each directory the task sees, by host path:
    /// what Docker mounts and the WASM driver preopens.
    public func guestMounts() -> [GuestMount] {
        var mounts = [
            GuestMount(hostPath: local, guestPath: "/local", readOnly: false),
            GuestMount(hostPath: secrets, guestPath: "/secrets", readOnly: true),
            GuestMount(hostPath: outputs, guestPath: "/outputs", readOnly: false),
        ]
        for (name, hostPath) in inputs.sorted(by: { $0.key < $1.key }) {
            mounts.append(GuestMount(hostPath: hostPath, guestPath: "/inputs/" + name, readOnly: true))
        }
        return mounts
    }
}

/// A host directory as a task in a container or WASM sandbox sees it.
public struct GuestMount: Sendable, Hashable, Codable {
    /// The directory on the host.
    public var hostPath: String
    /// Where the task sees it.
    public var guestPath: String
    /// Whether the task may only read it.
    public var readOnly: Bool
}
