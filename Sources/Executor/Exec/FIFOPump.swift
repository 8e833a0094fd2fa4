import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Moves what a task writes into a named pipe to a ``LogRotator``.
///
/// The pipe is opened read-write, so it never reports end-of-file while the
/// task's writers come and go, and the task never gets `EPIPE` while no agent
/// reads (the task's supervisor holds it open the same way). ``finish()``
/// drains what is left once the task has ended.
///
/// Holding a writer also keeps the pipe from reaching end-of-file: a read
/// source on a pipe at end-of-file is readable forever, and on Linux tearing
/// one down after the hang-up crashed libdispatch's event loop
/// (`_dispatch_event_loop_drain`) under a flood of short tasks.
/// (`@unchecked`: a dispatch source is thread-safe but not marked `Sendable`; the other
/// members are immutable.)
final class FIFOPump: @unchecked Sendable {
    private let fd: Int32
    private let source: any DispatchSourceRead
    private let queue: DispatchQueue
    private let rotator: LogRotator
    private let closed = Flag()

    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    convenience init(path: String, rotator: LogRotator) throws {
        let fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw TaskDriverError.engineFailed(taskID: path, operation: "opening the log pipe", reason: String(cString: strerror(errno)))
        }
        // A bigger pipe buffer keeps a chatty task going while no agent reads (1 MiB; best effort).
        _ = fcntl(fd, 1031 /* F_SETPIPE_SZ */, 1 << 20)
        self.init(fd: fd, rotator: rotator)
    }

    /// Pumps `fd`, a named pipe opened read-write and non-blocking, which the pump then owns.
    private init(fd: Int32, rotator: LogRotator) {
        self.fd = fd
        self.rotator = rotator
        self.queue = DispatchQueue(label: "caravan.exec.log")
        self.source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [fd, rotator] in Self.drain(fd: fd, into: rotator) }
        source.setCancelHandler { [fd, closed] in
            close(fd)
            closed.value.store(true, ordering: .releasing)
        }
        source.resume()
    }

    /// Whether the pump has stopped and closed the stream (some time after ``finish()`` or ``detach()``).
    var isClosed: Bool { closed.value.load(ordering: .acquiring) }

    /// Stops reading without closing the stream: what the task writes from now
    /// on stays in the pipe for the next agent (see ``ExecDriver/detach()``).
    func detach() {
        // On the pump's queue, so that no read is half-way to the log file.
        queue.sync { source.cancel() }
    }

    /// Reads what is left, stops reading and closes the stream.
    func finish() {
        queue.sync { Self.drain(fd: fd, into: rotator) }
        source.cancel()
        rotator.close()
    }

    private static func drain(fd: Int32, into rotator: LogRotator) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.withUnsafeBytes { rotator.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}
