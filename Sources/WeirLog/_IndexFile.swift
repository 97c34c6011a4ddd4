import Synchronization

/// The common part of `.index` and `.timeindex`: an mmap'd file of fixed-size big-endian
/// entries. The writer stores an entry and then publishes the new count (release); readers load
/// the count (acquire) and binary-search the entries below it.
///
/// An active index is a sparse file of `segment.index.bytes` (as Kafka sizes it with
/// `setLength`), so that thousands of partitions cost no disk space up front; the writer
/// allocates disk blocks ahead of its stores in `allocationStep` chunks (`reserve(entries:)`),
/// so a full disk is a typed error at the append, never a SIGBUS at a store.
final class _IndexFile: @unchecked Sendable {
    let file: _MappedFile
    let entrySize: Int
    /// Entries that fit in the mapping.
    let capacity: Int
    private let _count: Atomic<Int>
    /// Bytes of the file with disk blocks allocated (writer only).
    var _allocated: Int

    /// Disk blocks are allocated this far ahead of the last entry.
    static let allocationStep = 64 << 10

    /// Opens an index. `maxBytes > 0` opens it for appends (active segment): a sparse file of
    /// `maxBytes`, mapped writable, its descriptor closed; `maxBytes == 0` maps the file as it
    /// is, read-only (closed segment).
    init(path: String, entrySize: Int, maxBytes: Int, entries: Int? = nil) throws(LogError) {
        let writable = maxBytes > 0
        let f: _MappedFile
        if writable {
            f = try _MappedFile(path: path, create: true, openForWriting: true, mapWritable: true,
                                reserve: maxBytes - maxBytes % entrySize, allocate: 0, sparse: true, keepDescriptor: false)
        } else {
            f = try _MappedFile(path: path, create: false, writable: false)
        }
        self.file = f
        self.entrySize = entrySize
        self.capacity = f.mappedLength / entrySize
        self._count = Atomic(min(entries ?? capacity, capacity))
        self._allocated = writable ? f.initialFileSize : f.mappedLength
    }

    /// Makes sure `more` further entries (at most up to the capacity) land on allocated disk
    /// blocks (writer only). Throws `.noSpace` when the disk is full.
    func reserve(entries more: Int) throws(LogError) {
        let needed = min(capacity, count + more) * entrySize
        guard needed > _allocated else { return }
        let target = min(capacity * entrySize, max(needed, _allocated + Self.allocationStep))
        try file.allocate(offset: _allocated, length: target - _allocated)
        _allocated = target
    }

    var count: Int { _count.load(ordering: .acquiring) }
    var isFull: Bool { count >= capacity }
    var path: String { file.path }

    @inline(__always) func entry(_ i: Int) -> UnsafeRawPointer { UnsafeRawPointer(file.base!) + i * entrySize }

    /// Appends an entry (writer only) after `reserve(entries:)` covered it.
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
