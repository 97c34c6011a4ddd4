import Dispatch
import Synchronization

/// The process's write-back thread: it starts writing appended data to disk a few MiB behind
/// each active segment's writer (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which does not wait
/// for the I/O), as Kafka's background flusher keeps the page cache from collecting a burst.
///
/// Without it, dirty pages pile up until the kernel's own thresholds start write-back all at
/// once — typically at a roll's flush of the closed segment, or when `dirty_background_ratio`
/// is crossed — and an `acks=all` group commit or a roll then waits for hundreds of MiB at a
/// time. With it, the flush that a roll or `flush.ms` schedules finds little left to write.
///
/// The appender only queues a range (`submit`) every `step` bytes; the system call runs here, so
/// a congested device never stalls the appending thread. Durability is unchanged: this starts
/// write-back, it does not wait for it or advance the recovery point.
final class _Writeback: Sendable {
    static let shared = _Writeback()
    /// A segment queues its range once this many bytes were appended since its last request:
    /// 4 MiB, or a quarter of a smaller segment (at least 64 KiB).
    @inline(__always)
    static func step(capacity: Int) -> Int { max(64 << 10, min(4 << 20, capacity / 4)) }

    struct _Job: Sendable {
        let file: _MappedFile
        let from: Int
        let to: Int
    }

    let jobs = Mutex<[_Job]>([])
    let pending = DispatchSemaphore(value: 0)

    private init() {
        _ = _startDetachedThread { [self] in _Writeback._run(self) }
    }

    /// Queues write-back of `[from, to)` of `file` (writer only, cheap: no system call).
    func submit(_ file: _MappedFile, from: Int, to: Int) {
        jobs._withLock { $0.append(_Job(file: file, from: from, to: to)) }
        pending.signal()
    }

    static func _run(_ w: _Writeback) {
        while true {
            w.pending.wait()
            while let job = w.jobs._withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                if job.file.fd >= 0 { _Sys.startWriteback(job.file.fd, offset: job.from, length: job.to - job.from) }
            }
        }
    }
}
