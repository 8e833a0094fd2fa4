// Ports for the processes a test or benchmark starts on 127.0.0.1.
//
// Binding port 0 and releasing it is racy: the kernel hands the same number
// out again as the local port of any outgoing connection (the ephemeral
// range, 32768–60999 on Linux), and a cluster under test makes many. So the
// ports come from below that range, each number at most once per process,
// starting at an offset drawn from the process id so that concurrent test
// processes rarely meet; each is checked to be bindable before it is given out.
import Foundation
import Synchronization

public enum LoopbackPort {
    /// The range ports are taken from: below Linux's ephemeral range.
    static let range: ClosedRange<Int> = 20_000...32_767

    private static let cursor = Mutex(Int(getpid()) * 97 % range.count)

    /// A TCP port on 127.0.0.1 that nothing listens on and that this process
    /// has not handed out before.
    public static func next() throws -> Int {
        for _ in 0..<range.count {
            let port = cursor.withLock { offset in
                defer { offset = (offset + 1) % range.count }
                return range.lowerBound + offset
            }
            if isFree(port) { return port }
        }
        throw LoopbackPortError()
    }

    /// Whether `port` can be bound on 127.0.0.1 right now.
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }
}

public struct LoopbackPortError: Error, CustomStringConvertible {
    public var description: String { "no free TCP port on 127.0.0.1 in \(LoopbackPort.range)" }
}
