/// The sparse time index of a segment (`.timeindex`): 12-byte entries, int64 big-endian
/// timestamp, int32 big-endian offset relative to the segment's base offset.
struct _TimeIndex {
    static let entrySize = 12
    let file: _IndexFile
    let baseOffset: Int64

    func timestamp(_ i: Int) -> Int64 { file.entry(i)._loadBE(0, as: Int64.self) }
    func relativeOffset(_ i: Int) -> Int64 { Int64(file.entry(i)._loadBE(8, as: Int32.self)) }

    /// The offset of the last entry whose timestamp is ≤ `timestamp`, or the base offset.
    func lookup(_ timestamp: Int64) -> Int64 {
        guard let i = file._floor(timestamp, key: self.timestamp) else { return baseOffset }
        return baseOffset + relativeOffset(i)
    }

    var lastEntry: (timestamp: Int64, offset: Int64)? {
        let n = file.count
        return n > 0 ? (timestamp(n - 1), baseOffset + relativeOffset(n - 1)) : nil
    }

    /// Appends when `timestamp` is larger than the last entry's (Kafka's `maybeAppend`).
    func maybeAppend(timestamp: Int64, offset: Int64) {
        if let last = lastEntry, timestamp <= last.timestamp { return }
        if file.isFull { return }
        file._append { p in
            p._storeBE(timestamp, 0)
            p._storeBE(Int32(truncatingIfNeeded: offset - baseOffset), 8)
        }
    }

    func isSane(lastOffset: Int64) -> Bool {
        var lastTs = Int64.min, lastRel: Int64 = -1
        for i in 0..<file.count {
            let t = timestamp(i), r = relativeOffset(i)
            if t < lastTs || r < lastRel || r < 0 || baseOffset + r > lastOffset { return false }
            lastTs = t; lastRel = r
        }
        return true
    }
}
