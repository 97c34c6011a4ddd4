#if canImport(Glibc)
import Glibc
#endif
import CWeirSupport

/// An open file and a shared mapping of it. Unmapped and closed when the last reference goes,
/// so a segment that retention deletes stays readable for every view that still holds it.
final class _MappedFile: @unchecked Sendable {
    let path: String
    let fd: Int32
    /// nil when the mapped length is 0.
    let base: UnsafeMutableRawPointer?
    let mappedLength: Int
    let writable: Bool
    /// The size of the file when it was opened, before any preallocation.
    let initialFileSize: Int
    /// The mapping's slot in CWeirSupport's SIGBUS guard (-1: none).
    let _guardSlot: Int32

    /// Opens (or creates) `path`. When `preallocate` is larger than the file, the file is
    /// extended with `fallocate` *before* mapping, so stores into the mapping never hit a hole.
    /// The mapping covers `max(fileSize, preallocate)` bytes (or exactly the file when read-only).
    init(path: String, create: Bool, writable: Bool, preallocate: Int = 0) throws(LogError) {
        let flags = (writable ? O_RDWR : O_RDONLY) | (create ? O_CREAT : 0)
        let fd = try _Sys.open(path, flags)
        do {
            var size = try _Sys.fileSize(fd, path: path)
            self.initialFileSize = size
            if writable && preallocate > size {
                try _Sys.fallocate(fd, offset: size, length: preallocate - size, path: path)
                size = preallocate
            }
            self.path = path
            self.fd = fd
            self.writable = writable
            self.mappedLength = size
            self.base = size > 0 ? try _Sys.mmap(fd, length: size, writable: writable, path: path) : nil
            self._guardSlot = base.map { weir_guard_register($0, size) } ?? -1
        } catch {
            _Sys.close(fd)
            throw error
        }
    }

    deinit {
        weir_guard_unregister(_guardSlot)
        if let base { _Sys.munmap(base, mappedLength) }
        _Sys.close(fd)
    }

    /// Whether a read or write of the mapping faulted because another process shrank the file:
    /// the bytes past the file's end read as zeros since, and nothing read from it can be trusted.
    var isDamaged: Bool { weir_guard_damaged(_guardSlot) != 0 }

    /// The current size of the file on disk.
    func fileSize() throws(LogError) -> Int { try _Sys.fileSize(fd, path: path) }

    /// Shrinks (or grows) the file. The mapping keeps its length; callers never touch bytes past
    /// the new end.
    func truncate(to size: Int) throws(LogError) { try _Sys.ftruncate(fd, size, path: path) }

    /// Writes `[offset, offset+length)` of the mapping to disk and waits (`msync(MS_SYNC)`).
    func sync(offset: Int, length: Int) throws(LogError) {
        guard let base, length > 0 else { return }
        try _Sys.msync(base, offset: offset, length: length, path: path)
    }

    func fdatasync() throws(LogError) { try _Sys.fdatasync(fd, path: path) }

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
