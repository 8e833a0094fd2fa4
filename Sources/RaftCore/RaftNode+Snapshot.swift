/// A snapshot the leader streams to one follower in chunks.
struct SnapshotTransfer {
    let snapshot: Snapshot
    /// Bytes sent (the next chunk starts here).
    var sent: UInt64 = 0
    /// Bytes the follower confirmed.
    var acked: UInt64 = 0
    /// Whether any chunk went out (an empty snapshot still needs one).
    var started = false
    /// `acked` when the previous heartbeat answer came: unchanged means stalled.
    var ackedAtLastHeartbeat: UInt64 = .max

    var total: UInt64 { UInt64(snapshot.data.count) }
}

/// A snapshot a follower is receiving.
struct IncomingSnapshot {
    let metadata: SnapshotMetadata
    let totalSize: UInt64
    var data: [UInt8]
}

extension RaftNode {
    // MARK: Leader side

    /// Switches `member` to snapshot replication with the latest stored snapshot.
    mutating func startSnapshot(to member: NodeID) -> Bool {
        guard progress[member]?.recentActive == true else { return false }
        let snapshot: Snapshot
        do {
            snapshot = try log.storage.snapshot()
        } catch .snapshotTemporarilyUnavailable {
            return false
        } catch {
            RaftLog.storageFailed(error)
        }
        guard !snapshot.isEmpty else { return false }
        progress[member]!.becomeSnapshot(index: snapshot.metadata.index)
        snapshotTransfers[member] = SnapshotTransfer(snapshot: snapshot)
        sendSnapshotChunks(to: member)
        return true
    }

    /// Sends chunks up to the in-flight window.
    mutating func sendSnapshotChunks(to member: NodeID) {
        guard var transfer = snapshotTransfers[member] else { return }
        let chunk = config.snapshotChunkBytes
        let window = chunk * UInt64(config.maxInflightSnapshotChunks)
        while (!transfer.started || transfer.sent < transfer.total) && transfer.sent - transfer.acked < window {
            let end = min(transfer.total, transfer.sent + chunk)
            let data = Array(transfer.snapshot.data[Int(transfer.sent)..<Int(end)])
            send(Message(
                type: .snapshot, to: member,
                snapshot: SnapshotChunk(
                    metadata: transfer.snapshot.metadata, offset: transfer.sent,
                    totalSize: transfer.total, data: data
                )
            ))
            transfer.sent = end
            transfer.started = true
        }
        snapshotTransfers[member] = transfer
    }

    mutating func handleSnapshotResponse(_ m: Message) {
        progress[m.from]!.recentActive = true
        guard progress[m.from]!.state == .snapshot, var transfer = snapshotTransfers[m.from] else { return }
        if m.reject {
            transfer.acked = min(m.index, transfer.total)
            transfer.sent = transfer.acked
            transfer.started = transfer.acked > 0
        } else {
            transfer.acked = max(transfer.acked, min(m.index, transfer.total))
        }
        snapshotTransfers[m.from] = transfer
        sendSnapshotChunks(to: m.from)
    }

    /// Resends from the last confirmed chunk when nothing was confirmed
    /// since the previous heartbeat (a chunk was lost).
    mutating func resendStalledSnapshot(to member: NodeID) {
        guard var transfer = snapshotTransfers[member] else { return }
        if transfer.acked == transfer.ackedAtLastHeartbeat {
            transfer.sent = transfer.acked
            transfer.started = transfer.acked > 0
        }
        transfer.ackedAtLastHeartbeat = transfer.acked
        snapshotTransfers[member] = transfer
        sendSnapshotChunks(to: member)
    }

    // MARK: Follower side

    mutating func handleSnapshotChunk(_ m: Message) {
        guard let chunk = m.snapshot else { return }
        if chunk.offset == 0 {
            incomingSnapshot = IncomingSnapshot(metadata: chunk.metadata, totalSize: chunk.totalSize, data: chunk.data)
        } else if var incoming = incomingSnapshot, incoming.metadata == chunk.metadata,
                  UInt64(incoming.data.count) == chunk.offset {
            incomingSnapshot = nil  // keep the buffer uniquely referenced while appending
            incoming.data.append(contentsOf: chunk.data)
            incomingSnapshot = incoming
        } else {
            let have = incomingSnapshot.flatMap { $0.metadata == chunk.metadata ? UInt64($0.data.count) : nil } ?? 0
            send(Message(type: .snapshotResponse, to: m.from, index: have, reject: true))
            return
        }
        guard let incoming = incomingSnapshot, UInt64(incoming.data.count) >= incoming.totalSize else {
            send(Message(type: .snapshotResponse, to: m.from, index: UInt64(incomingSnapshot?.data.count ?? 0)))
            return
        }
        incomingSnapshot = nil
        let snapshot = Snapshot(metadata: incoming.metadata, data: incoming.data)
        if restore(snapshot) {
            send(Message(type: .appendResponse, to: m.from, index: log.lastIndex))
        } else {
            send(Message(type: .appendResponse, to: m.from, index: log.committed))
        }
    }

    /// Installs `snapshot` unless the log already covers it; returns whether it was installed.
    mutating func restore(_ snapshot: Snapshot) -> Bool {
        let meta = snapshot.metadata
        if meta.index <= log.committed { return false }
        if log.matchTerm(meta.index, meta.term) {
            // We hold the snapshot's last entry: just fast-forward the commit.
            log.commit(to: meta.index)
            return false
        }
        log.restore(snapshot)
        configs = [(meta.index, meta.confState)]
        configurationChanged()
        return true
    }
}
