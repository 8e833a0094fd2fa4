import Testing
import WasmKit

@testable import Executor

@Suite("WASI read-only descriptors")
struct ReadOnlyDescriptorsTests {
    /// path_open arguments: (fd, dirflags, path, len, oflags, rights_base, rights_inheriting, fdflags, opened_fd).
    func open(_ fd: UInt32, oflags: UInt32 = 0, rights: UInt64 = 2, fdflags: UInt32 = 0) -> [Value] {
        [.i32(fd), .i32(0), .i32(100), .i32(7), .i32(oflags), .i64(rights), .i64(0x1fff_ffff), .i32(fdflags), .i32(200)]
    }

    @Test("preopens of read-only mounts start the set")
    func preopens() {
        let tracker = ReadOnlyDescriptors(preopensReadOnly: [false, true, false, true])
        #expect(tracker.descriptors == [4, 6])
    }

    @Test("writing opens are refused under a read-only descriptor, reading ones are not")
    func opens() {
        let tracker = ReadOnlyDescriptors(preopensReadOnly: [false, true])
        #expect(!tracker.refuses("path_open", open(4)))
        #expect(tracker.refuses("path_open", open(4, oflags: 1)))  // creat
        #expect(tracker.refuses("path_open", open(4, oflags: 8)))  // trunc
        #expect(tracker.refuses("path_open", open(4, rights: 64)))  // fd_write
        #expect(tracker.refuses("path_open", open(4, fdflags: 1)))  // append
        #expect(!tracker.refuses("path_open", open(3, oflags: 1, rights: 64)))
        #expect(tracker.refuses("path_rename", [.i32(3), .i32(0), .i32(1), .i32(4), .i32(0), .i32(1)]))
        #expect(tracker.refuses("fd_write", [.i32(4), .i32(0), .i32(1), .i32(8)]))
    }

    @Test("descriptors opened under a read-only one inherit the mark; renumbering moves it; closing drops it")
    func follows() {
        var tracker = ReadOnlyDescriptors(preopensReadOnly: [false, true])
        tracker.record("path_open", open(4)) { 7 }
        tracker.record("path_open", open(3)) { 8 }
        #expect(tracker.descriptors == [4, 7])
        tracker.record("fd_renumber", [.i32(7), .i32(3)]) { nil }
        #expect(tracker.descriptors == [3, 4])
        tracker.record("fd_renumber", [.i32(8), .i32(4)]) { nil }
        #expect(tracker.descriptors == [3])
        tracker.record("fd_renumber", [.i32(3), .i32(3)]) { nil }
        #expect(tracker.descriptors == [3])
        tracker.record("fd_close", [.i32(3)]) { nil }
        #expect(tracker.descriptors.isEmpty)
    }
}
