@_spi(WASIPlatform) import WASI

/// A guest's standard streams, as character devices of its own: stdin is
/// always at its end, and what it writes to stdout or stderr goes straight
/// to the task's ``LogRotator``, on the guest's thread.
///
/// They were pipes, each drained into its log by a `FIFOPump` (a dispatch
/// queue and read source): per guest, two pipes, four descriptors more, two
/// sources registered and cancelled on libdispatch's manager thread and the
/// wake-ups of both, plus `/dev/null` opened for stdin. On a client running
/// short guests back to back that was a tenth of its CPU.
struct GuestStdio: WASIFile {
    /// Nil: stdin.
    let log: LogRotator?

    /// A WASI bridge for a guest: these streams, and `mounts` preopened from descriptor 3 on, in order.
    /// (Here, where WASI's file protocols are imported: beside WasmKitWASI, in
    /// `WasmRunner`, the two modules' `WASICapability` would clash.)
    static func bridge(
        arguments: [String], environment: [String: String], mounts: [GuestMount], stdout: LogRotator, stderr: LogRotator
    ) throws -> WASIBridgeToHost {
        try WASIBridgeToHost(
            args: arguments, environment: environment,
            fileSystem: .host()
                .withStdio(stdin: GuestStdio(log: nil), stdout: GuestStdio(log: stdout), stderr: GuestStdio(log: stderr))
                .withPreopens(mounts.map { WASIBridgeToHost.Preopen(guestPath: $0.guestPath, hostPath: $0.hostPath) })
        )
    }

    // The guest's task closes the logs once the guest has ended (`WasmTask.finish`).
    var isBorrowed: Bool { true }

    func attributes() throws -> WASIAbi.Filestat {
        WASIAbi.Filestat(dev: 0, ino: 0, filetype: .CHARACTER_DEVICE, nlink: 1, size: 0, atim: 0, mtim: 0, ctim: 0)
    }

    func fileType() throws -> WASIAbi.FileType { .CHARACTER_DEVICE }
    func status() throws -> WASIAbi.Fdflags { log == nil ? [] : .APPEND }
    func setTimes(atim: WASIAbi.Timestamp, mtim: WASIAbi.Timestamp, fstFlags: WASIAbi.FstFlags) throws {}
    func advise(offset: WASIAbi.FileSize, length: WASIAbi.FileSize, advice: WASIAbi.Advice) throws {}
    func close() throws {}

    func fdStat() throws -> WASIAbi.FdStat {
        WASIAbi.FdStat(
            fsFileType: .CHARACTER_DEVICE, fsFlags: try status(),
            fsRightsBase: log == nil ? .FD_READ : .FD_WRITE, fsRightsInheriting: [])
    }

    func setFdStatFlags(_ flags: WASIAbi.Fdflags) throws {}
    func setFilestatSize(_ size: WASIAbi.FileSize) throws { throw WASIAbi.Errno.EINVAL }
    func sync() throws {}
    func datasync() throws {}
    func tell() throws -> WASIAbi.FileSize { throw WASIAbi.Errno.ESPIPE }
    func seek(offset: WASIAbi.FileDelta, whence: WASIAbi.Whence) throws -> WASIAbi.FileSize { throw WASIAbi.Errno.ESPIPE }

    func write(vectored buffers: GuestBuffers) throws -> WASIAbi.Size {
        guard let log else { throw WASIAbi.Errno.EBADF }
        var written: UInt32 = 0
        for index in 0..<buffers.count {
            try buffers.withHostBuffer(at: index) { buffer in
                log.write(UnsafeRawBufferPointer(buffer))
                written += UInt32(buffer.count)
                return buffer.count
            }
        }
        return written
    }

    func pwrite(vectored buffers: GuestBuffers, offset: WASIAbi.FileSize) throws -> WASIAbi.Size { throw WASIAbi.Errno.ESPIPE }

    func read(into buffers: GuestBuffers) throws -> WASIAbi.Size {
        guard log == nil else { throw WASIAbi.Errno.EBADF }
        return 0
    }

    func pread(into buffers: GuestBuffers, offset: WASIAbi.FileSize) throws -> WASIAbi.Size { throw WASIAbi.Errno.ESPIPE }
}
