import RaftCore

/// The latest entries of a log, kept in memory as they are written.
///
/// Raft reads back what it has just appended: committed entries to apply
/// them, new ones to send them to a follower that is behind. From the
/// database each read is a scan, a copy and a checksum per entry; from here
/// it is a slice. The entries are contiguous and end at the log's last index;
/// the oldest are dropped past `limits`, and a read that reaches below the
/// first one kept goes to the database.
struct RecentEntries: Sendable {
    struct Limits: Sendable {
        var entries: Int
        var bytes: UInt64

        static let standard = Limits(entries: 4_096, bytes: 16 << 20)
    }

    let limits: Limits
    private(set) var entries: [Entry] = []
    private var bytes: UInt64 = 0

    init(limits: Limits = .standard) {
        self.limits = limits
    }

    /// The index of the oldest entry kept.
    var firstIndex: UInt64? { entries.first?.index }

    /// `written` (consecutive) now ends the log: entries kept from its first
    /// index on are replaced, and kept entries that no longer join it are dropped.
    mutating func write(_ written: some Collection<Entry>) {
        guard let first = written.first?.index else { return }
        if let start = firstIndex, first > start, first <= start + UInt64(entries.count) {
            let keep = Int(first - start)
            bytes -= entries[keep...].byteSize
            entries.removeSubrange(keep...)
        } else {
            removeAll()
        }
        for entry in written {
            entries.append(entry)
            bytes += entry.byteSize
        }
        trim()
    }

    /// Entries through `index` were compacted away.
    mutating func drop(through index: UInt64) {
        guard let start = firstIndex, index >= start else { return }
        let count = min(entries.count, Int(index - start + 1))
        bytes -= entries[..<count].byteSize
        entries.removeFirst(count)
    }

    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        bytes = 0
    }

    /// Entries `lo..<hi`, at least one and no more than `maxBytes` past
    /// that, as `RaftStorage.entries` returns them; nil when not all of the
    /// range is kept. The caller checks the range lies within the log.
    func entries(from lo: UInt64, to hi: UInt64, maxBytes: UInt64) -> [Entry]? {
        guard let start = firstIndex, lo >= start, hi <= start + UInt64(entries.count), lo < hi else { return nil }
        return entries[Int(lo - start)..<Int(hi - start)].prefix(maxBytes: maxBytes)
    }

    /// The term of entry `index`, when it is kept.
    func term(at index: UInt64) -> UInt64? {
        guard let start = firstIndex, index >= start, index < start + UInt64(entries.count) else { return nil }
        return entries[Int(index - start)].term
    }

    /// Drops the oldest entries past the limits (in one move, once they are
    /// passed by a quarter, so that appends do not shift the array each time).
    private mutating func trim() {
        guard entries.count > limits.entries + limits.entries / 4 || bytes > limits.bytes + limits.bytes / 4 else { return }
        var drop = 0
        var dropped: UInt64 = 0
        while drop < entries.count - 1 && (entries.count - drop > limits.entries || bytes - dropped > limits.bytes) {
            dropped += entries[drop].byteSize
            drop += 1
        }
        entries.removeFirst(drop)
        bytes -= dropped
    }
}
