#if canImport(Glibc)
import Glibc
#endif

/// A file and a shared mapping of it. Unmapped (and its descriptor closed) when the last
/// reference goes, so a segment that retention deletes stays readable for every view that still
/// holds it.
///
/// Three shapes:
/// - a closed segment or index: the file as it is, read-only;
/// - an active segment's `.log`: opened for writing, mapped **read-only** over `reserve` bytes
///   (past the end of the file). Appends go in with `pwrite`/`pwritev`, readers read the mapping;
///   a read-only mapping costs no page zeroing on first touch and no write-protect or TLB
///   shoot-down at write-back. Nobody touches the mapping past the published end, which is
///   never past the end of the file;
/// - an active index: mapped writable over `reserve` bytes of a sparse file (`ftruncate`); the
///   writer allocates disk blocks ahead of its stores (`allocate(upTo:)`) so that a store never
///   hits a hole (which would raise SIGBUS on a full disk). Its descriptor is closed once mapped,
///   so that thousands of partitions do not run out of descriptors.
final class _MappedFile: @unchecked Sendable {
    let path: String
    /// The open descriptor, or -1 when the file was closed after mapping (`keepDescriptor`).
    let fd: Int32
    /// nil when the mapped length is 0.
    let base: UnsafeMutableRawPointer?
    let mappedLength: Int
    /// Whether the mapping itself is writable (an active index).
    let writable: Bool
    /// The size of the file when it was opened, before any preallocation.
    let initialFileSize: Int

    /// Opens (or creates) `path` and maps it: read-only and exactly the file, or, when
    /// `writable`, writable over `max(fileSize, preallocate)` bytes with disk blocks allocated
    /// (`fallocate`) before mapping.
    convenience init(path: String, create: Bool, writable: Bool, preallocate: Int = 0) throws(LogError) {
        try self.init(path: path, create: create, openForWriting: writable, mapWritable: writable,
                      reserve: preallocate, allocate: preallocate, sparse: false, keepDescriptor: true)
    }

    /// The general form.
    /// - Parameters:
    ///   - openForWriting: open the file `O_RDWR` (appends with `pwrite`, truncation).
    ///   - mapWritable: map it `PROT_READ | PROT_WRITE` (else `PROT_READ`).
    ///   - reserve: map at least this many bytes (a read-only mapping may reach past the file's
    ///     end; a writable one extends the file to it first).
    ///   - allocate: allocate disk blocks up to this size (`fallocate`).
    ///   - sparse: extend the file to `reserve` with `ftruncate` (no blocks) before mapping.
    ///   - keepDescriptor: keep the descriptor open after mapping.
    init(path: String, create: Bool, openForWriting: Bool, mapWritable: Bool, reserve: Int, allocate: Int,
         sparse: Bool, keepDescriptor: Bool) throws(LogError) {
        let flags = (openForWriting ? O_RDWR : O_RDONLY) | (create ? O_CREAT : 0)
        let fd = try _Sys.open(path, flags)
        do {
            var size = try _Sys.fileSize(fd, path: path)
            self.initialFileSize = size
            if openForWriting && allocate > size {
                try _Sys.fallocate(fd, offset: size, length: allocate - size, path: path)
                size = allocate
            }
            if openForWriting && sparse && reserve > size {
                try _Sys.ftruncate(fd, reserve, path: path)
                size = reserve
            }
            let length = mapWritable ? size : max(size, reserve)
            self.path = path
            self.writable = mapWritable
            self.mappedLength = length
            self.base = length > 0 ? try _Sys.mmap(fd, length: length, writable: mapWritable, path: path) : nil
            if keepDescriptor {
                self.fd = fd
            } else {
                _Sys.close(fd)
                self.fd = -1
            }
        } catch {
            _Sys.close(fd)
            throw error
        }
    }

    deinit {
        if let base { _Sys.munmap(base, mappedLength) }
        if fd >= 0 { _Sys.close(fd) }
    }

    /// Runs `body` with a descriptor of the file: the kept one, or the file opened again for
    /// writing (a mapped index whose descriptor was closed).
    func withDescriptor<R>(_ body: (Int32) throws(LogError) -> R) throws(LogError) -> R {
        if fd >= 0 { return try body(fd) }
        let again = try _Sys.open(path, O_RDWR)
        defer { _Sys.close(again) }
        return try body(again)
    }

    /// The current size of the file on disk.
    func fileSize() throws(LogError) -> Int { try withDescriptor { (fd) throws(LogError) in try _Sys.fileSize(fd, path: path) } }

    /// Shrinks (or grows) the file. The mapping keeps its length; callers never touch bytes past
    /// the new end.
    func truncate(to size: Int) throws(LogError) { try withDescriptor { (fd) throws(LogError) in try _Sys.ftruncate(fd, size, path: path) } }

    /// Allocates disk blocks for `[offset, offset+length)` (`fallocate`).
    func allocate(offset: Int, length: Int) throws(LogError) {
        try withDescriptor { (fd) throws(LogError) in try _Sys.fallocate(fd, offset: offset, length: length, path: path) }
    }

    /// Writes `bytes` at `offset` (`pwrite`), growing the file as needed.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(LogError) {
        try _Sys.pwrite(fd, bytes, at: offset, path: path)
    }

    /// Writes `[offset, offset+length)` of the mapping to disk and waits (`msync(MS_SYNC)`).
    func sync(offset: Int, length: Int) throws(LogError) {
        guard let base, length > 0 else { return }
        try _Sys.msync(base, offset: offset, length: length, path: path)
    }

    /// Writes the file's dirty data to disk and waits (`fdatasync`).
    func fdatasync() throws(LogError) { try withDescriptor { (fd) throws(LogError) in try _Sys.fdatasync(fd, path: path) } }

    @inline(__always)
    func bytes(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base.map { UnsafeRawPointer($0) + offset }, count: count)
    }
}

// Big-endian loads and stores on raw memory.
extension UnsafeRawPointer {
    @inline(__always) func _loadBE<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        T(bigEndian: self.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawPointer {
    @inline(__always) func _storeBE<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
        self.storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
    }
}
