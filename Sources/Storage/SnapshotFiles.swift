import RaftCore

/// Where the latest snapshot lives: its metadata, and (unless it is the
/// initial, empty one) the file holding its data with that file's size and checksum.
struct SnapshotRecord: Sendable, Hashable {
    var metadata: SnapshotMetadata
    var fileName: String?
    var dataSize: UInt64
    var fileChecksum: UInt32

    static func initial(_ confState: ConfState) -> SnapshotRecord {
        SnapshotRecord(metadata: SnapshotMetadata(index: 0, term: 0, confState: confState), fileName: nil, dataSize: 0, fileChecksum: 0)
    }

    func encoded() -> [UInt8] {
        var writer = ByteWriter()
        writer.u8(RecordCoding.version)
        RecordCoding.write(metadata, to: &writer)
        writer.blob(Array((fileName ?? "").utf8))
        writer.u64(dataSize)
        writer.u32(fileChecksum)
        writer.sealWithChecksum()
        return writer.bytes
    }

    init(metadata: SnapshotMetadata, fileName: String?, dataSize: UInt64, fileChecksum: UInt32) {
        self.metadata = metadata
        self.fileName = fileName
        self.dataSize = dataSize
        self.fileChecksum = fileChecksum
    }

    init(decoding bytes: [UInt8]) throws(DecodingFailure) {
        var reader = try ByteReader(checked: bytes, what: "snapshot record")
        try RecordCoding.checkVersion(reader.u8(), what: "snapshot record")
        metadata = try RecordCoding.readMetadata(from: &reader)
        let name = String(decoding: try reader.blob(), as: UTF8.self)
        fileName = name.isEmpty ? nil : name
        dataSize = try reader.u64()
        fileChecksum = try reader.u32()
        try reader.expectEnd()
    }
}

/// Snapshot data files: `snapshots/snapshot-<index>-<term>.snap`, each
/// `CRVNSNAP`, a version byte, the metadata, the data length and the data,
/// ending with a CRC-32C of all of it. Written to a temporary file, fsynced,
/// renamed; a torn or flipped file is detected on every read.
struct SnapshotFiles: Sendable {
    static let magic = Array("CRVNSNAP".utf8)
    let directory: String

    static func fileName(for metadata: SnapshotMetadata) -> String {
        "snapshot-\(hex(metadata.index))-\(hex(metadata.term)).snap"
    }

    func path(of name: String) -> String { directory + "/" + name }

    /// Writes the file durably and returns the record that points to it.
    func write(_ snapshot: Snapshot) throws(StorageError) -> SnapshotRecord {
        var writer = ByteWriter(capacity: snapshot.data.count + 128)
        writer.raw(Self.magic)
        writer.u8(RecordCoding.version)
        RecordCoding.write(snapshot.metadata, to: &writer)
        writer.u64(UInt64(snapshot.data.count))
        writer.raw(snapshot.data)
        writer.sealWithChecksum()
        let name = Self.fileName(for: snapshot.metadata)
        try Posix.writeAtomically(writer.bytes, to: path(of: name))
        let checksum = writer.bytes.suffix(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        return SnapshotRecord(metadata: snapshot.metadata, fileName: name, dataSize: UInt64(snapshot.data.count), fileChecksum: checksum)
    }

    /// Reads and verifies the snapshot `record` points to.
    func read(_ record: SnapshotRecord) throws(StorageError) -> Snapshot {
        guard let name = record.fileName else { return Snapshot(metadata: record.metadata) }
        let filePath = path(of: name)
        let bytes: [UInt8]
        do throws(StorageError) {
            bytes = try Posix.read(filePath)
        } catch .io(_, _, let detail) where !Posix.exists(filePath) {
            throw .corrupted(path: filePath, detail: "the snapshot file is missing (\(detail))")
        }
        do throws(DecodingFailure) {
            var reader = try ByteReader(checked: bytes, what: "snapshot file")
            guard try reader.raw(Self.magic.count) == Self.magic else {
                throw DecodingFailure(reason: "not a snapshot file (wrong magic bytes)")
            }
            try RecordCoding.checkVersion(reader.u8(), what: "snapshot file")
            let metadata = try RecordCoding.readMetadata(from: &reader)
            let count = try reader.u64()
            guard count == record.dataSize, count <= UInt64(reader.remaining) else {
                throw DecodingFailure(reason: "holds \(count) bytes of data, the store expects \(record.dataSize)")
            }
            let data = try reader.raw(Int(count))
            try reader.expectEnd()
            guard metadata == record.metadata else {
                throw DecodingFailure(reason: "describes index \(metadata.index) term \(metadata.term), the store expects index \(record.metadata.index) term \(record.metadata.term)")
            }
            return Snapshot(metadata: metadata, data: data)
        } catch {
            throw .corrupted(path: filePath, detail: error.reason)
        }
    }

    /// Removes temporary files and snapshot files other than `keep`.
    func removeAll(except keep: String?) {
        guard let names = try? Posix.list(directory) else { return }
        for name in names where name != keep {
            Posix.removeQuietly(path(of: name))
        }
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
