import Foundation
import Executor
import Model
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// What a node finds out about itself: the facts constraints match
/// (`${attr.KEY}`), the resources it offers, its drivers, devices and data sets.
enum Fingerprint {
    static func node(id: NodeID, configuration c: ClientConfiguration, drivers: DriverRegistry, dataDirectory: String) async -> Node {
        var attributes: [String: String] = [:]
        var system = utsname()
        uname(&system)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let machine = field(system.machine)
        attributes["os.name"] = "linux"
        attributes["kernel.name"] = field(system.sysname).lowercased()
        attributes["kernel.version"] = field(system.release)
        attributes["cpu.arch"] = ["x86_64": "amd64", "aarch64": "arm64"][machine] ?? machine
        attributes["unique.hostname"] = field(system.nodename)
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let mhz = cpuMHz()
        attributes["cpu.numcores"] = String(cores)
        attributes["cpu.frequency"] = String(mhz)
        let memoryMB = Int(ProcessInfo.processInfo.physicalMemory >> 20)
        attributes["memory.totalbytes"] = String(ProcessInfo.processInfo.physicalMemory)
        let diskMB = freeDiskMB(dataDirectory)
        attributes["unique.storage.bytesfree"] = String(diskMB << 20)

        var driverInfo: [String: DriverInfo] = [:]
        for (name, print) in await drivers.fingerprints() {
            var driverAttributes = print.attributes
            if let version = print.version { driverAttributes["driver.\(name).version"] = version }
            driverInfo[name] = DriverInfo(detected: true, healthy: print.isHealthy, attributes: driverAttributes)
            // Node attributes too, for `${attr.driver.NAME.KEY}` constraints.
            attributes.merge(driverAttributes) { _, driver in driver }
        }

        // Walking the data sets and asking nvidia-smi take as long as they
        // take: on NIO's blocking pool, not a loop that carries connections
        // (in `caravand dev`, the server's too).
        let paths = c.datasets
        let measure = { @Sendable in (paths.mapValues { DatasetInfo(sizeBytes: directorySize($0)) }, gpus()) }
        let (datasets, devices) = (try? await NIOThreadPool.singleton.runIfActive(measure)) ?? measure()
        return Node(
            id: id, name: c.name, datacenter: c.datacenter, nodeClass: c.nodeClass, nodePool: c.nodePool,
            status: .initializing, attributes: attributes, meta: c.meta,
            resources: NodeResources(cpu: cores * mhz, cores: cores, memoryMB: memoryMB, diskMB: diskMB, devices: devices),
            reserved: c.reserved, drivers: driverInfo, datasets: datasets)
    }

    /// MHz of one core, from /proc/cpuinfo (1000 when it does not say).
    static func cpuMHz() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return 1000 }
        for line in text.split(separator: "\n") where line.hasPrefix("cpu MHz") {
            if let value = line.split(separator: ":").last.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) {
                return max(1, Int(value))
            }
        }
        return 1000
    }

    static func freeDiskMB(_ path: String) -> Int {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return 0 }
        return Int(UInt64(stats.f_bavail) * UInt64(stats.f_frsize) >> 20)
    }

    /// The bytes of the regular files under `path`.
    static func directorySize(_ path: String) -> Int64 {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let relative = walker.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + relative)
            if attributes?[.type] as? FileAttributeType == .typeRegular {
                total += (attributes?[.size] as? NSNumber)?.int64Value ?? 0
            }
        }
        return total
    }

    /// NVIDIA GPUs, through `nvidia-smi` when it is installed (the first of
    /// `candidates` that is). A tool that has not answered within `timeout`
    /// (a wedged driver can hang it) is killed, and the node has no GPUs.
    static func gpus(candidates: [String] = ["/usr/bin/nvidia-smi", "/usr/local/bin/nvidia-smi"],
                     timeout: Duration = .seconds(10)) -> [NodeDeviceGroup] {
        guard let tool = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return [] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["--query-gpu=uuid,name,memory.total", "--format=csv,noheader,nounits"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return [] }
        let pid = process.processIdentifier
        let killer = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout / .milliseconds(1))), execute: killer)
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        killer.cancel()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else { return [] }
        var byName: [String: NodeDeviceGroup] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count >= 3 else { continue }
            byName[parts[1], default: NodeDeviceGroup(vendor: "nvidia", type: "gpu", name: parts[1], instanceIDs: [], attributes: ["memory_mb": parts[2]])]
                .instanceIDs.append(parts[0])
        }
        return byName.values.sorted { $0.name < $1.name }
    }
}
