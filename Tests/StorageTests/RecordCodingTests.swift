import RaftCore
import Testing
@testable import Storage

/// The checksum and the packed write sets that every append goes through.
@Suite struct RecordCodingTests {
    @Test func crc32cMatchesTheStandardCheckValues() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xff, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    }

    @Test func crc32cContinuesAcrossPieces() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let whole = CRC32C.checksum(bytes)
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            #expect(CRC32C.checksum(bytes[split...], continuing: CRC32C.checksum(bytes[..<split])) == whole, "split at \(split)")
        }
    }

    @Test func aWriteSetReplaysItsOperationsInOrder() {
        var writes = WriteSet()
        writes.put(.kv, [1, 2], [3])
        let entry = Entry(term: 4, index: 9, data: [7, 7, 7])
        writes.put(.log, key: entry.index, valueCapacity: RecordCoding.encodedSize(entry)) { writer in
            RecordCoding.encode(entry, into: &writer)
        }
        writes.delete(.meta, [5])
        var other = WriteSet()
        other.deleteRange(.log, from: [0], to: [9, 9])
        writes.append(contentsOf: other)
        #expect(writes.count == 4)

        var seen: [String] = []
        writes.forEach { operation in
            switch operation {
            case let .put(family, key, value):
                seen.append("put \(family) \(Array(key)) \(Array(value))")
            case let .delete(family, key):
                seen.append("delete \(family) \(Array(key))")
            case let .deleteRange(family, start, end):
                seen.append("deleteRange \(family) \(Array(start)) \(Array(end))")
            }
        }
        #expect(seen == [
            "put kv [1, 2] [3]",
            "put log \(RecordCoding.logKey(9)) \(RecordCoding.encode(entry))",
            "delete meta [5]",
            "deleteRange log [0] [9, 9]",
        ])
    }

    @Test func anEntryEncodedInPlaceDecodesAndIsChecksummedAlone() throws {
        let entry = Entry(term: 3, index: 42, kind: .normal, data: Array(repeating: 0x61, count: 100))
        var writes = WriteSet()
        writes.put(.kv, Array("before".utf8), Array("x".utf8))
        writes.put(.log, key: entry.index, valueCapacity: 0) { writer in
            RecordCoding.encode(entry, into: &writer)
        }
        var value: [UInt8] = []
        writes.forEach { operation in
            if case let .put(.log, _, bytes) = operation { value = Array(bytes) }
        }
        #expect(value == RecordCoding.encode(entry))
        #expect(try RecordCoding.decodeEntry(value, expectedIndex: 42) == entry)
    }
}
