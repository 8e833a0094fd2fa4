import Testing
@testable import Storage

/// The node-local key-value contract, proven against both backends.
@Suite struct KeyValueStoreConformanceTests {
    @Test(arguments: Backend.allCases)
    func putGetOverwriteDelete(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let kv = store.keyValues
        #expect(try kv.get(Array("a".utf8)) == nil)
        try kv.put(Array("a".utf8), [1, 2])
        try kv.put(Array("b".utf8), [])
        #expect(try kv.get(Array("a".utf8)) == [1, 2])
        #expect(try kv.get(Array("b".utf8)) == [])
        try kv.put(Array("a".utf8), [3])
        try store.reopen()
        #expect(try store.keyValues.get(Array("a".utf8)) == [3])
        try store.keyValues.delete(Array("a".utf8))
        try store.keyValues.delete(Array("missing".utf8))
        #expect(try store.keyValues.get(Array("a".utf8)) == nil)
        #expect(try store.keyValues.get(Array("b".utf8)) == [])
    }

    @Test(arguments: Backend.allCases)
    func scanReturnsThePrefixInByteOrder(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let keys: [[UInt8]] = [[0x61, 0xff], [0x61], [0x61, 0x00], [0x62], [0x60, 0xff], [0x61, 0x10, 0x01], []]
        for (offset, key) in keys.enumerated() { try store.keyValues.put(key, [UInt8(offset)]) }
        try store.reopen()
        let scanned = try store.keyValues.scan(prefix: [0x61])
        #expect(scanned.map(\.key) == [[0x61], [0x61, 0x00], [0x61, 0x10, 0x01], [0x61, 0xff]])
        #expect(scanned.map(\.value) == [[1], [2], [5], [0]])
        #expect(try store.keyValues.scan(prefix: [0x61], limit: 2).map(\.key) == [[0x61], [0x61, 0x00]])
        #expect(try store.keyValues.scan(prefix: [0x63]).isEmpty)
        #expect(try store.keyValues.scan(prefix: []).count == keys.count)
    }

    @Test(arguments: Backend.allCases)
    func batchAppliesInOrderAndAtomically(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        try store.keyValues.put(Array("alloc/1".utf8), [1])
        var batch = KeyValueBatch()
        batch.put(Array("alloc/2".utf8), [2])
        batch.delete(Array("alloc/1".utf8))
        batch.put(Array("alloc/3".utf8), [3])
        batch.put(Array("alloc/3".utf8), [4])
        try store.keyValues.write(batch)
        try store.reopen()
        let allocations = try store.keyValues.scan(prefix: Array("alloc/".utf8))
        #expect(allocations == [
            KeyValuePair(key: Array("alloc/2".utf8), value: [2]),
            KeyValuePair(key: Array("alloc/3".utf8), value: [4]),
        ])
    }
}
