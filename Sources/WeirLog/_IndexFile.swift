import Synchronization

/// The common part of `.index` and `.timeindex`: a preallocated, mmap'd file of fixed-size
/// big-endian entries. The writer stores an entry and then publishes the new count (release);
/// readers load the count (acquire) and binary-search the entries below it.
final class _IndexFile: @unchecked Sendable {
    let file: _MappedFile
    let entrySize: Int
    /// Entries that fit in the mapping.
    let capacity: Int
    private let _count: Atomic<Int>

    /// Opens an index. `maxBytes > 0` preallocates it for appends (active segment); `maxBytes == 0`
    /// maps the file as it is, read-only (closed segment).
    init(path: String, entrySize: Int, maxBytes: Int, entries: Int? = nil) throws(LogError) {
        let writable = maxBytes > 0
        let f = try _MappedFile(path: path, create: writable, writable: writable,
                                preallocate: writable ? maxBytes - maxBytes % entrySize : 0)
        self.file = f
        self.entrySize = entrySize
        self.capacity = f.mappedLength / entrySize
        self._count = Atomic(min(entries ?? capacity, capacity))
    }

    var count: Int { _count.load(ordering: .acquiring) }
    var isFull: Bool { count >= capacity }
    var path: String { file.path }

    @inline(__always) func entry(_ i: Int) -> UnsafeRawPointer { UnsafeRawPointer(file.base!) + i * entrySize }

    /// Appends an entry (writer only).
    func _append(_ write: (UnsafeMutableRawPointer) -> Void) {
        let n = _count.load(ordering: .relaxed)
        precondition(n < capacity)
        write(file.base! + n * entrySize)
        _count.store(n + 1, ordering: .releasing)
    }

    /// Drops every entry from `n` on (writer only, or before the index is shared).
    func _truncate(toEntries n: Int) { _count.store(min(n, count), ordering: .releasing) }

    /// The largest `i` with `key(i) <= target`, or nil.
    @inline(__always)
    func _floor(_ target: Int64, key: (Int) -> Int64) -> Int? {
        var lo = 0, hi = count - 1, found: Int? = nil
        while lo <= hi {
            let mid = (lo + hi) >> 1
            if key(mid) <= target { found = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        return found
    }

    /// Trims the file to its entries (on roll and close, as Kafka does).
    func trim() throws(LogError) { try file.truncate(to: count * entrySize) }

    func sync() throws(LogError) { try file.sync(offset: 0, length: count * entrySize) }
}

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

    /// Kafka's sanity check: entries strictly increasing, positions increasing and inside the log.
    func isSane(logSize: Int) -> Bool {
        var lastRel: Int64 = -1, lastPos = -1
        for i in 0..<file.count {
            let r = relativeOffset(i), p = position(i)
            if r <= lastRel || p <= lastPos || p >= logSize || r < 0 { return false }
            lastRel = r; lastPos = p
        }
        return true
    }
}

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
