import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The fields of `/proc/<pid>/stat` the exec driver uses.
struct ProcStat: Sendable, Hashable {
    var pid: Int32
    /// R, S, D, Z, T...
    var state: Character
    var processGroup: Int32
    var session: Int32
    /// User + system CPU time, in clock ticks.
    var cpuTicks: UInt64
    /// Start time after boot, in clock ticks: with the pid, identifies a process across pid reuse.
    var startTicks: UInt64
    /// Resident set size, in pages.
    var residentPages: Int

    /// The process's stat, or `nil` when it does not exist.
    static func read(_ pid: Int32) -> ProcStat? {
        guard let text = KernelFile.text(at: "/proc/\(pid)/stat"),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name, which may itself hold spaces and parentheses.
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field n is fields[n - 3].
        guard fields.count > 21, let state = fields[0].first,
            let pgrp = Int32(fields[2]), let session = Int32(fields[3]),
            let utime = UInt64(fields[11]), let stime = UInt64(fields[12]),
            let start = UInt64(fields[19]), let rss = Int(fields[21])
        else { return nil }
        return ProcStat(
            pid: pid, state: state, processGroup: pgrp, session: session,
            cpuTicks: utime + stime, startTicks: start, residentPages: rss
        )
    }

    /// Whether the process is alive (not gone, not a zombie).
    var isAlive: Bool { state != "Z" && state != "X" }

    /// Every process in `session`.
    static func members(ofSession session: Int32) -> [ProcStat] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.compactMap { read($0) }.filter { $0.session == session }
    }

    static let ticksPerSecond: Int = Int(sysconf(Int32(_SC_CLK_TCK)))
    static let pageSize: Int = Int(sysconf(Int32(_SC_PAGESIZE)))
}
