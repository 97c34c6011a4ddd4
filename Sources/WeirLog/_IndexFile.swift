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
