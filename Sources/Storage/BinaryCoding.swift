import RaftCore

/// Appends fixed-width little-endian fields to a byte array.
struct ByteWriter {
    var bytes: [UInt8] = []
    /// Where the record being written starts: the checksum covers it alone.
    private let recordStart: Int

    init(capacity: Int = 64) {
        bytes.reserveCapacity(capacity)
        recordStart = 0
    }

    /// A writer appending a record to `bytes` (take them uniquely referenced,
    /// or they are copied), which already end at `recordStart`.
    init(taking bytes: [UInt8], recordStart: Int) {
        self.bytes = bytes
        self.recordStart = recordStart
    }

    /// The bytes written, leaving the writer empty (so they are not shared).
    mutating func takeBytes() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &bytes)
        return taken
    }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A length (u32) followed by the bytes.
    mutating func blob(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    /// Appends the CRC-32C of the record written so far.
    mutating func sealWithChecksum() {
        let checksum = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[recordStart...])) }
        u32(checksum)
    }
}

/// Why bytes did not decode; callers turn it into `StorageError.corrupted` with the place.
struct DecodingFailure: Error {
    var reason: String
}

/// Reads fixed-width little-endian fields; every read checks the bounds.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// A reader over `bytes` without their last 4 bytes, after checking that
    /// those hold the CRC-32C of the rest.
    init(checked bytes: [UInt8], what: String) throws(DecodingFailure) {
        guard bytes.count >= 4 else { throw DecodingFailure(reason: "\(what) is \(bytes.count) bytes, too short") }
        let body = bytes[..<(bytes.count - 4)]
        var stored: UInt32 = 0
        for i in 0..<4 { stored |= UInt32(bytes[bytes.count - 4 + i]) << (8 * UInt32(i)) }
        let computed = CRC32C.checksum(body)
        guard stored == computed else {
            throw DecodingFailure(reason: "\(what) fails its checksum (stored \(stored), computed \(computed))")
        }
        self.init(Array(body))
    }

    var remaining: Int { bytes.count - offset }

    mutating func u8() throws(DecodingFailure) -> UInt8 {
        guard remaining >= 1 else { throw DecodingFailure(reason: "truncated at byte \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u32() throws(DecodingFailure) -> UInt32 {
        guard remaining >= 4 else { throw DecodingFailure(reason: "truncated at byte \(offset)") }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return value
    }

    mutating func u64() throws(DecodingFailure) -> UInt64 {
        guard remaining >= 8 else { throw DecodingFailure(reason: "truncated at byte \(offset)") }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return value
    }

    mutating func blob() throws(DecodingFailure) -> [UInt8] {
        let count = Int(try u32())
        return try raw(count)
    }

    mutating func raw(_ count: Int) throws(DecodingFailure) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw DecodingFailure(reason: "truncated at byte \(offset)") }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    func expectEnd() throws(DecodingFailure) {
        guard remaining == 0 else { throw DecodingFailure(reason: "\(remaining) unexpected trailing bytes") }
    }
}

/// The compact binary forms of the Raft records (not JSON). Each starts with a
/// version byte and ends with a CRC-32C of everything before it.
enum RecordCoding {
    static let version: UInt8 = 1

    /// Log key: the index, big-endian, so that byte order is index order.
    static func logKey(_ index: UInt64) -> [UInt8] {
        withUnsafeBytes(of: index.bigEndian) { Array($0) }
    }

    static func index(fromLogKey key: [UInt8]) throws(DecodingFailure) -> UInt64 {
        guard key.count == 8 else { throw DecodingFailure(reason: "log key of \(key.count) bytes") }
        return key.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// version, kind, term, index, payload, crc: 22 bytes plus the payload.
    static func encode(_ entry: Entry) -> [UInt8] {
        var writer = ByteWriter(capacity: encodedSize(entry))
        encode(entry, into: &writer)
        return writer.bytes
    }

    static func encodedSize(_ entry: Entry) -> Int { entry.data.count + 22 }

    static func encode(_ entry: Entry, into writer: inout ByteWriter) {
        writer.u8(version)
        writer.u8(entry.kind.rawValue)
        writer.u64(entry.term)
        writer.u64(entry.index)
        writer.raw(entry.data)
        writer.sealWithChecksum()
    }

    static func decodeEntry(_ bytes: [UInt8], expectedIndex: UInt64) throws(DecodingFailure) -> Entry {
        var reader = try ByteReader(checked: bytes, what: "log entry \(expectedIndex)")
        try checkVersion(reader.u8(), what: "log entry \(expectedIndex)")
        guard let kind = EntryKind(rawValue: try reader.u8()) else {
            throw DecodingFailure(reason: "log entry \(expectedIndex) has an unknown kind")
        }
        let term = try reader.u64()
        let index = try reader.u64()
        guard index == expectedIndex else {
            throw DecodingFailure(reason: "log entry stored under index \(expectedIndex) says it is \(index)")
        }
        return Entry(term: term, index: index, kind: kind, data: try reader.raw(reader.remaining))
    }

    static func encode(_ state: HardState) -> [UInt8] {
        var writer = ByteWriter()
        writer.u8(version)
        writer.u64(state.term)
        writer.u64(state.vote)
        writer.u64(state.commit)
        writer.sealWithChecksum()
        return writer.bytes
    }

    static func decodeHardState(_ bytes: [UInt8]) throws(DecodingFailure) -> HardState {
        var reader = try ByteReader(checked: bytes, what: "hard state")
        try checkVersion(reader.u8(), what: "hard state")
        let state = HardState(term: try reader.u64(), vote: try reader.u64(), commit: try reader.u64())
        try reader.expectEnd()
        return state
    }

    /// The compacted prefix: the index and term of the last discarded entry.
    static func encodeTruncation(index: UInt64, term: UInt64) -> [UInt8] {
        var writer = ByteWriter()
        writer.u8(version)
        writer.u64(index)
        writer.u64(term)
        writer.sealWithChecksum()
        return writer.bytes
    }

    static func decodeTruncation(_ bytes: [UInt8]) throws(DecodingFailure) -> (index: UInt64, term: UInt64) {
        var reader = try ByteReader(checked: bytes, what: "log truncation record")
        try checkVersion(reader.u8(), what: "log truncation record")
        let result = (index: try reader.u64(), term: try reader.u64())
        try reader.expectEnd()
        return result
    }

    static func write(_ metadata: SnapshotMetadata, to writer: inout ByteWriter) {
        writer.u64(metadata.index)
        writer.u64(metadata.term)
        writer.u32(UInt32(metadata.confState.voters.count))
        for voter in metadata.confState.voters { writer.u64(voter) }
        writer.u32(UInt32(metadata.confState.learners.count))
        for learner in metadata.confState.learners { writer.u64(learner) }
    }

    static func readMetadata(from reader: inout ByteReader) throws(DecodingFailure) -> SnapshotMetadata {
        let index = try reader.u64()
        let term = try reader.u64()
        var voters: [NodeID] = []
        let voterCount = try reader.u32()
        guard Int(voterCount) <= reader.remaining / 8 else { throw DecodingFailure(reason: "voter count \(voterCount) too large") }
        for _ in 0..<voterCount { voters.append(try reader.u64()) }
        var learners: [NodeID] = []
        let learnerCount = try reader.u32()
        guard Int(learnerCount) <= reader.remaining / 8 else { throw DecodingFailure(reason: "learner count \(learnerCount) too large") }
        for _ in 0..<learnerCount { learners.append(try reader.u64()) }
        return SnapshotMetadata(index: index, term: term, confState: ConfState(voters: voters, learners: learners))
    }

    static func checkVersion(_ found: UInt8, what: String) throws(DecodingFailure) {
        guard found == version else { throw DecodingFailure(reason: "\(what) has record version \(found), expected \(version)") }
    }
}
