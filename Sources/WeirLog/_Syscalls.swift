import CWeirSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over the system calls the log uses. Each retries on `EINTR` and turns a failure
/// into a `LogError` that names the call, the path and the errno; `ENOSPC`/`EDQUOT` become
/// `.noSpace` (retriable once space is freed).
enum _Sys {
    static func error(_ call: String, _ path: String, _ err: Int32 = errno) -> LogError {
        let text = String(cString: strerror(err))
        if err == ENOSPC || err == EDQUOT {
            return LogError(.noSpace, "\(call)(\(path)) failed: \(text). Free space on the disk holding the log directory, or lower segment.bytes / retention.bytes, then retry.", isRetriable: true, errno: err)
        }
        return LogError(.io, "\(call)(\(path)) failed: \(text) (errno \(err)).", errno: err)
    }

    @inline(__always)
    static func retrying(_ body: () -> Int32) -> Int32 {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }

    /// Opens a file. The corresponding C function is `open`.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(LogError) -> Int32 {
        let fd = retrying { Glibc.open(path, flags | O_CLOEXEC, mode) }
        if fd < 0 { throw error("open", path) }
        return fd
    }

    /// Closes a descriptor; errors are ignored, as after `close` the descriptor is gone anyway.
    /// The corresponding C function is `close`.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// The size of an open file. The corresponding C function is `fstat`.
    static func fileSize(_ fd: Int32, path: String) throws(LogError) -> Int {
        var st = stat()
        if retrying({ fstat(fd, &st) }) != 0 { throw error("fstat", path) }
        return Int(st.st_size)
    }

    /// Allocates disk blocks for `[offset, offset+length)` so that stores into a mapping of that
    /// range can never hit a hole (which would raise SIGBUS on a full disk). Uses `fallocate(2)`
    /// and falls back to `posix_fallocate` where the file system does not support it.
    /// The corresponding C function is `fallocate`.
    static func fallocate(_ fd: Int32, offset: Int, length: Int, path: String) throws(LogError) {
        guard length > 0 else { return }
        let r = retrying { weir_fallocate(fd, 0, Int64(offset), Int64(length)) }
        if r == 0 { return }
        let err = errno
        if err == EOPNOTSUPP {
            var rc: Int32
            repeat { rc = posix_fallocate(fd, off_t(offset), off_t(length)) } while rc == EINTR
            if rc == 0 { return }
            throw error("posix_fallocate", path, rc)
        }
        throw error("fallocate", path, err)
    }

    /// Sets the file's size. The corresponding C function is `ftruncate`.
    static func ftruncate(_ fd: Int32, _ size: Int, path: String) throws(LogError) {
        if retrying({ Glibc.ftruncate(fd, off_t(size)) }) != 0 { throw error("ftruncate", path) }
    }

    /// Flushes file data (and the metadata needed to read it back). The corresponding C function is `fdatasync`.
    static func fdatasync(_ fd: Int32, path: String) throws(LogError) {
        if retrying({ Glibc.fdatasync(fd) }) != 0 { throw error("fdatasync", path) }
    }

    /// Flushes a file or directory completely. The corresponding C function is `fsync`.
    static func fsync(_ fd: Int32, path: String) throws(LogError) {
        if retrying({ Glibc.fsync(fd) }) != 0 { throw error("fsync", path) }
    }

    /// Maps `length` bytes of a file, shared. The corresponding C function is `mmap`.
    static func mmap(_ fd: Int32, length: Int, writable: Bool, populate: Bool = false, path: String) throws(LogError) -> UnsafeMutableRawPointer {
        let prot = writable ? (PROT_READ | PROT_WRITE) : PROT_READ
        let flags = MAP_SHARED | (populate ? MAP_POPULATE : 0)
        guard let p = Glibc.mmap(nil, length, prot, flags, fd, 0), p != MAP_FAILED else {
            throw error("mmap", path)
        }
        return p
    }

    /// Unmaps a mapping. The corresponding C function is `munmap`.
    static func munmap(_ base: UnsafeMutableRawPointer, _ length: Int) {
        _ = Glibc.munmap(base, length)
    }

    /// Writes the dirty pages of `[base+offset, base+offset+length)` to disk and waits.
    /// `offset` is rounded down to a page. The corresponding C function is `msync` (`MS_SYNC`).
    static func msync(_ base: UnsafeMutableRawPointer, offset: Int, length: Int, path: String) throws(LogError) {
        guard length > 0 else { return }
        let start = offset & ~(pageSize - 1)
        let len = length + (offset - start)
        if retrying({ Glibc.msync(base + start, len, MS_SYNC) }) != 0 { throw error("msync", path) }
    }

    /// Advises the kernel about a range; failures are ignored because advice is optional.
    /// The corresponding C function is `madvise`.
    @discardableResult
    static func madvise(_ base: UnsafeMutableRawPointer, offset: Int, length: Int, _ advice: Int32) -> Bool {
        guard length > 0 else { return true }
        let start = offset & ~(pageSize - 1)
        let len = length + (offset - start)
        return retrying({ Glibc.madvise(base + start, len, advice) }) == 0
    }

    /// Starts writeback of `[offset, offset+length)` without waiting, so that a later `msync` /
    /// `fdatasync` mostly waits for I/O already in flight. Advisory: failures are ignored.
    /// The corresponding C function is `sync_file_range` (`SYNC_FILE_RANGE_WRITE`).
    static func startWriteback(_ fd: Int32, offset: Int, length: Int) {
        guard length > 0 else { return }
        _ = retrying { weir_sync_file_range_write(fd, Int64(offset), Int64(length)) }
    }

    /// The loop of `pread` and `pwrite`: calls `body` with the bytes done so far until `count`
    /// are done or it returns 0 (the end of the file, for a read), retrying on `EINTR` and after
    /// short transfers; gives the bytes done. Any other failure is `call`'s error.
    @inline(__always)
    static func transferAll(_ count: Int, _ call: String, _ path: String, _ body: (_ done: Int) -> Int) throws(LogError) -> Int {
        var done = 0
        while done < count {
            let n = body(done)
            if n < 0 {
                if errno == EINTR { continue }
                throw error(call, path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `bytes` at `offset`. The corresponding C function is `pwrite`.
    static func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws(LogError) {
        let done = try transferAll(bytes.count, "pwrite", path) { done in
            Glibc.pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
        }
        // A write that makes no progress (never seen on a regular file) is an I/O error, not a hang.
        if done < bytes.count { throw error("pwrite", path, EIO) }
    }

    /// Writes every byte the vectors describe, back to back from `offset`, retrying on `EINTR`
    /// and after short writes (the vectors are advanced in place). At most `IOV_MAX` (1024)
    /// vectors per call. The corresponding C function is `pwritev`.
    static func pwritev(_ fd: Int32, _ vectors: UnsafeMutableBufferPointer<iovec>, at offset: Int, path: String) throws(LogError) {
        var first = 0
        var position = offset
        while first < vectors.count {
            let count = min(vectors.count - first, 1024)
            var n = Glibc.pwritev(fd, vectors.baseAddress! + first, Int32(count), off_t(position))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("pwritev", path)
            }
            position += n
            // Skip the vectors written in full, then shorten a partly written one.
            while first < vectors.count && n >= vectors[first].iov_len {
                n -= vectors[first].iov_len
                first += 1
            }
            if n > 0 {
                vectors[first].iov_base = vectors[first].iov_base! + n
                vectors[first].iov_len -= n
            }
        }
    }

    /// Advises the kernel about the use of a file range; advisory, failures are ignored.
    /// The corresponding C function is `posix_fadvise`.
    static func fadvise(_ fd: Int32, offset: Int, length: Int, _ advice: Int32) {
        var rc: Int32
        repeat { rc = posix_fadvise(fd, off_t(offset), off_t(length), advice) } while rc == EINTR
    }

    /// Reads up to `count` bytes at `offset`. The corresponding C function is `pread`.
    static func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws(LogError) -> Int {
        try transferAll(buffer.count, "pread", path) { done in
            Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
        }
    }

    /// Removes a file; a missing file is not an error. The corresponding C function is `unlink`.
    static func unlink(_ path: String) throws(LogError) {
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw error("unlink", path) }
    }

    /// Renames a file atomically. The corresponding C function is `rename`.
    static func rename(_ from: String, _ to: String) throws(LogError) {
        if Glibc.rename(from, to) != 0 { throw error("rename", "\(from) -> \(to)") }
    }

    /// Creates a directory unless it exists. The corresponding C function is `mkdir`.
    static func mkdir(_ path: String) throws(LogError) {
        if Glibc.mkdir(path, 0o755) != 0 && errno != EEXIST { throw error("mkdir", path) }
    }

    /// Removes an empty directory. The corresponding C function is `rmdir`.
    static func rmdir(_ path: String) throws(LogError) {
        if Glibc.rmdir(path) != 0 && errno != ENOENT { throw error("rmdir", path) }
    }

    /// fsyncs a directory so that the entries created or removed in it are durable.
    static func syncDirectory(_ path: String) throws(LogError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// Writes every dirty page and inode of the file system holding `path` to disk and waits.
    /// The corresponding C function is `syncfs`.
    static func syncfs(_ path: String) throws(LogError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        if retrying({ weir_syncfs(fd) }) != 0 { throw error("syncfs", path) }
    }

    /// Whether a path exists. The corresponding C function is `access`.
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Names in a directory, without `.` and `..`. The corresponding C functions are
    /// `opendir`/`readdir`.
    static func listDirectory(_ path: String) throws(LogError) -> [String] {
        guard let dir = opendir(path) else { throw error("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = entryName(entry)
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The name of a directory entry, read in place up to its NUL. Not through
    /// `entry.pointee.d_name`: that copies all 256 bytes of the field, but `readdir` packs
    /// entries only as long as their names, so the copy of the last entry in its buffer can
    /// run past the buffer's end (a SIGSEGV when an unmapped page follows, seen in a crash
    /// campaign's recovery of a directory of 1,400 files).
    static func entryName(_ entry: UnsafeMutablePointer<dirent>) -> String {
        let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        return String(cString: (UnsafeRawPointer(entry) + offset).assumingMemoryBound(to: CChar.self))
    }

    /// The size of a file by path, or nil when it does not exist. The corresponding C function is `stat`.
    static func fileSize(path: String) -> Int? {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : nil
    }

    /// Whether a path is a directory.
    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Reads a whole small file, or nil when it does not exist.
    static func readSmallFile(_ path: String) throws(LogError) -> [UInt8]? {
        let fd = retrying { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw error("open", path)
        }
        defer { close(fd) }
        let size = try fileSize(fd, path: path)
        var bytes = [UInt8](repeating: 0, count: size)
        let n = try bytes._withMutableBytes { (buf) throws(LogError) in try pread(fd, into: buf, at: 0, path: path) }
        return Array(bytes[0..<n])
    }

    /// Writes a small file atomically and durably: a temporary file, fsync, rename, fsync of the
    /// directory. Kafka writes its checkpoint files this way.
    static func writeFileAtomically(_ path: String, _ bytes: [UInt8], directory: String) throws(LogError) {
        let tmp = path + ".tmp"
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_TRUNC)
        do throws(LogError) {
            try bytes._withBytes { (b) throws(LogError) in try pwrite(fd, b, at: 0, path: tmp) }
            try fsync(fd, path: tmp)
        } catch {
            close(fd)
            _ = Glibc.unlink(tmp)
            throw error
        }
        close(fd)
        try rename(tmp, path)
        try syncDirectory(directory)
    }

    static let pageSize: Int = Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Replaces the file at `path` with `bytes`, without a sync: for scratch files that a crash may
/// lose (the fuzz targets write their inputs on tmpfs with it).
package func _replaceFile(_ path: String, _ bytes: UnsafeRawBufferPointer) throws(LogError) {
    let fd = try _Sys.open(path, O_WRONLY | O_CREAT | O_TRUNC)
    defer { _Sys.close(fd) }
    try _Sys.pwrite(fd, bytes, at: 0, path: path)
}

/// Writes a small file atomically and durably (temporary file, fsync, rename, fsync of the
/// directory): the one implementation for the log's checkpoints and the client's ACL file.
package func _writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws(LogError) {
    let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    try _Sys.writeFileAtomically(path, bytes, directory: directory.isEmpty ? "/" : directory)
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body with typed throws.
    func _withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(LogError) -> R) throws(LogError) -> R {
        let r: Result<R, LogError> = withUnsafeBytes { b in
            do throws(LogError) { return .success(try body(b)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    /// `withUnsafeMutableBytes` for a body with typed throws.
    mutating func _withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(LogError) -> R) throws(LogError) -> R {
        let r: Result<R, LogError> = withUnsafeMutableBytes { b in
            do throws(LogError) { return .success(try body(b)) } catch { return .failure(error) }
        }
        return try r.get()
    }
}
