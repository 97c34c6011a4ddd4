/// The sparse offset index of a segment (`.index`): 8-byte entries, int32 big-endian offset
/// relative to the segment's base offset, int32 big-endian position in the `.log` file.
struct _OffsetIndex {
    static let entrySize = 8
    let file: _IndexFile
    let baseOffset: Int64

    func relativeOffset(_ i: Int) -> Int64 { Int64(file.entry(i)._loadBE(0, as: Int32.self)) }
    func position(_ i: Int) -> Int { Int(file.entry(i)._loadBE(4, as: Int32.self)) }

    /// The position of the last indexed batch whose offset is ≤ `offset` (0 when none):
    /// where a forward scan for `offset` starts.
    func lookup(_ offset: Int64) -> Int {
        let rel = offset - baseOffset
        guard let i = file._floor(rel, key: relativeOffset) else { return 0 }
        return position(i)
    }

    func append(offset: Int64, position: Int) {
        file._append { p in
            p._storeBE(Int32(truncatingIfNeeded: offset - baseOffset), 0)
            p._storeBE(Int32(truncatingIfNeeded: position), 4)
        }
    }

    var lastOffset: Int64? { file.count > 0 ? baseOffset + relativeOffset(file.count - 1) : nil }

    /// What Kafka's sanity check finds first in the entries, in order.
    enum Problem: Equatable {
        /// An offset or position that does not increase (the index is not well formed).
        case disorder
        /// A well-formed entry so far whose position is at or past the end of the log.
        case pastEnd(relativeOffset: Int64, position: Int)
    }

    /// The first entry that fails Kafka's sanity check (offsets strictly increasing, positions
    /// increasing and inside a log of `logSize` bytes), or nil when every entry passes.
    func firstProblem(logSize: Int) -> Problem? {
        var lastRel: Int64 = -1, lastPos = -1
        for i in 0..<file.count {
            let r = relativeOffset(i), p = position(i)
            if r <= lastRel || p <= lastPos { return .disorder }
            if p >= logSize { return .pastEnd(relativeOffset: r, position: p) }
            lastRel = r; lastPos = p
        }
        return nil
    }

    /// Kafka's sanity check: entries strictly increasing, positions increasing and inside the log.
    func isSane(logSize: Int) -> Bool { firstProblem(logSize: logSize) == nil }
}
