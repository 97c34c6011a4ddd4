#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The exclusive lock of a log directory: `flock(LOCK_EX | LOCK_NB)` on `<log-dir>/.lock`, which
/// holds the owner's pid. Released when the descriptor closes (also when the process dies).
final class _DirectoryLock: Sendable {
    static let fileName = ".lock"
    let _fd: Atomic<Int32>
    let path: String

    /// How long an open waits for a lock that this process's own pid holds: a directory this
    /// process just closed can stay locked for a moment while a child process that another
    /// thread is spawning still shares the lock's descriptor (it goes at the child's `exec`).
    static let selfHeldRetryNanos: UInt64 = 500_000_000

    /// Takes the lock or throws `.logDirectoryLocked` naming the directory and the holder's pid.
    init(directory: String) throws(LogError) {
        let path = directory + "/" + _DirectoryLock.fileName
        let fd = try _Sys.open(path, O_RDWR | O_CREAT)
        let started = monotonicNanos()
        var pause: UInt32 = 1_000
        while _Sys.retrying({ flock(fd, LOCK_EX | LOCK_NB) }) != 0 {
            let err = errno
            var holder = "unknown"
            var buf = [UInt8](repeating: 0, count: 32)
            let n = buf.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, 32, 0) }
            if n > 0 { holder = String(decoding: buf[0..<n], as: UTF8.self).trimmingWhitespace }
            if err == EWOULDBLOCK && holder == String(getpid()) && monotonicNanos() - started < Self.selfHeldRetryNanos {
                usleep(pause)
                pause = min(pause * 2, 50_000)
                continue
            }
            _Sys.close(fd)
            if err == EWOULDBLOCK {
                throw LogError(.logDirectoryLocked, "the log directory \(directory) is in use by process \(holder) (lock file \(path)). Stop that process, or use another log directory.", isRetriable: true)
            }
            throw _Sys.error("flock", path, err)
        }
        let pid = Array("\(getpid())\n".utf8)
        do throws(LogError) {
            try _Sys.ftruncate(fd, 0, path: path)
            try pid._withBytes { (b) throws(LogError) in try _Sys.pwrite(fd, b, at: 0, path: path) }
        } catch {
            _Sys.close(fd)
            throw error
        }
        self._fd = Atomic(fd)
        self.path = path
    }

    /// Releases the lock (closes the descriptor). Idempotent.
    func release() {
        let fd = _fd.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { _Sys.close(fd) }
    }

    deinit { release() }
}
