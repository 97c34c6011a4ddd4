#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Synchronization

/// `weir bench run machine`: what this machine can do at all, measured through the same load
/// generator as every other preset, so that a log figure can be stated as a ratio to a baseline
/// taken in the same minutes on the same (shared) machine.
///
/// Three backends with nothing of Weir's log or client in them:
/// - `machine.pwrite`: each record (64 KiB in the preset) is one `pwrite` at the end of a file
///   in a temporary directory, i.e. a copy into fresh page-cache pages; a new file every 1 GiB,
///   as a log rolls segments. The ceiling of an `acks=1` append path.
/// - `machine.pwrite-fdatasync`: the same with an `fdatasync` after every 64 MiB: the ceiling of
///   an `acks=all` path that group-commits.
/// - `machine.handoff`: a 100 B record copied into a queue under a lock and handed to the
///   consumer thread, which parks on a futex when the queue is empty (the wake is the kernel's
///   futex path): the latency floor of any producer → consumer path in one process.
public enum MachineBaseline {
    /// The preset `weir bench list` shows.
    public static let preset = Preset(
        name: "machine",
        summary: "this machine's baselines: pwrite 64 KiB into the page cache, the same with fdatasync every 64 MiB, a two-thread hand-off of 100 B at 100k rec/s",
        steps: [
            Preset.step(named: "pwrite-64KiB") {
                $0.backend = backendPrefix + "pwrite"; $0.producerRate = 0; $0.messageSize = 64 << 10
                $0.payload = .random; $0.subscriptionsPerTopic = 0; $0.warmupSeconds = 1; $0.durationSeconds = 5
            },
            Preset.step(named: "pwrite-64KiB-fdatasync-64MiB") {
                $0.backend = backendPrefix + "pwrite-fdatasync"; $0.producerRate = 0; $0.messageSize = 64 << 10
                $0.payload = .random; $0.subscriptionsPerTopic = 0; $0.warmupSeconds = 1; $0.durationSeconds = 5
            },
            Preset.step(named: "handoff-100B-100k") {
                $0.backend = backendPrefix + "handoff"; $0.partitionsPerTopic = 1; $0.producerRate = 100_000
                $0.messageSize = 100; $0.warmupSeconds = 2; $0.durationSeconds = 8
            },
        ])

    /// Backend names this file serves start with this.
    public static let backendPrefix = "machine."

    /// The backend a `machine.*` step names.
    public static func backend(for w: Workload) throws(BenchError) -> any BenchBackend {
        switch w.backend.dropFirst(backendPrefix.count) {
        case "pwrite": return try FileBackend(syncEvery: 0, directory: w.logDir)
        case "pwrite-fdatasync": return try FileBackend(syncEvery: 64 << 20, directory: w.logDir)
        case "handoff": return HandoffBackend()
        default:
            throw .usage("backend: '\(w.backend)' is not a machine baseline; allowed: machine.pwrite, machine.pwrite-fdatasync, machine.handoff.")
        }
    }

    // MARK: - pwrite into the page cache

    final class FileBackend: BenchBackend, @unchecked Sendable {
        let directory: String
        let removeDirectory: Bool
        let syncEvery: Int
        let written = Atomic<Int64>(0)

        init(syncEvery: Int, directory: String?) throws(BenchError) {
            self.syncEvery = syncEvery
            if let directory {
                self.directory = directory
                removeDirectory = false
            } else {
                var template = Array((NSTemporaryDirectory() + "/weir-machine-XXXXXX").utf8CString)
                guard let made = mkdtemp(&template) else { throw BenchError(.io, "mkdtemp failed: \(String(cString: strerror(errno))); set TMPDIR to a writable directory.") }
                self.directory = String(cString: made)
                removeDirectory = true
            }
        }

        var name: String { syncEvery > 0 ? "machine.pwrite-fdatasync" : "machine.pwrite" }
        func createTopics(_ names: [String], partitions: Int) async throws(BenchError) {}

        func makeProducer(topic: String, index: Int, sink: DeliverySink) async throws(BenchError) -> any BenchProducer {
            FileProducer(backend: self, path: "\(directory)/\(topic)-\(index)", sink: sink)
        }

        func makeConsumer(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> any BenchConsumer {
            throw .usage("the machine.pwrite baselines have no consumers; set subscriptionsPerTopic: 0.")
        }

        func statistics() async -> BackendStatistics {
            var s = BackendStatistics()
            s.producedBatchBytes = written.load(ordering: .relaxed)
            return s
        }

        func shutdown() async {
            if removeDirectory { try? FileManager.default.removeItem(atPath: directory) }
        }
    }

    /// One file at a time, appended with `pwrite`; a new one every `rollBytes`.
    final class FileProducer: BenchProducer, @unchecked Sendable {
        static let rollBytes = 1 << 30
        let backend: FileBackend
        let path: String
        let sink: DeliverySink
        // Touched only by the generator's producer thread.
        var fd: Int32 = -1
        var files = 0
        var position = 0
        var unsynced = 0

        init(backend: FileBackend, path: String, sink: DeliverySink) {
            self.backend = backend
            self.path = path
            self.sink = sink
        }

        func _roll() {
            if fd >= 0 { Glibc.close(fd); unlink("\(path).\(files - 1)") }
            fd = open("\(path).\(files)", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            files += 1
            position = 0
        }

        func send(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, intendedNanos: UInt64, sentNanos: UInt64) {
            if fd < 0 || position + value.count > Self.rollBytes { _roll() }
            var done = 0
            while done < value.count {
                let n = pwrite(fd, value.baseAddress! + done, value.count - done, off_t(position + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    sink.failed(1)
                    return
                }
                done += n
            }
            position += done
            unsynced += done
            if backend.syncEvery > 0 && unsynced >= backend.syncEvery {
                _ = fdatasync(fd)
                unsynced = 0
            }
            backend.written.add(Int64(done), ordering: .relaxed)
            sink.delivered(intendedNanos: intendedNanos, bytes: done)
        }

        func flush() async {
            if backend.syncEvery > 0 && fd >= 0 { _ = fdatasync(fd) }
        }

        func close() async {
            if fd >= 0 { Glibc.close(fd); unlink("\(path).\(files - 1)"); fd = -1 }
        }
    }

    // MARK: - Two-thread hand-off

    /// A queue under a lock, and a semaphore (a futex) the consumer parks on when it is empty.
    final class HandoffBackend: BenchBackend, Sendable {
        struct Queue: ~Copyable {
            var records: [[UInt8]] = []
            var consumerParked = false
        }
        let queue = Mutex(Queue())
        let wake = DispatchSemaphore(value: 0)

        var name: String { "machine.handoff" }
        func createTopics(_ names: [String], partitions: Int) async throws(BenchError) {}

        func makeProducer(topic: String, index: Int, sink: DeliverySink) async throws(BenchError) -> any BenchProducer {
            HandoffProducer(backend: self, sink: sink)
        }

        func makeConsumer(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> any BenchConsumer {
            HandoffConsumer(backend: self)
        }

        func statistics() async -> BackendStatistics { BackendStatistics() }
        func shutdown() async {}
    }

    struct HandoffProducer: BenchProducer {
        let backend: HandoffBackend
        let sink: DeliverySink

        func send(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, intendedNanos: UInt64, sentNanos: UInt64) {
            let record = BenchStamp.stampedCopy(of: value, nanos: intendedNanos)
            let wake = backend.queue.withLock { q -> Bool in
                q.records.append(record)
                let parked = q.consumerParked
                q.consumerParked = false
                return parked
            }
            if wake { backend.wake.signal() }
            sink.delivered(intendedNanos: intendedNanos, bytes: record.count)
        }

        func flush() async {}
        func close() async {}
    }

    final class HandoffConsumer: BenchConsumer, @unchecked Sendable {
        let backend: HandoffBackend
        // Touched only by the generator's consumer thread.
        var taken: [[UInt8]] = []

        init(backend: HandoffBackend) { self.backend = backend }

        func poll(timeoutNanos: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
            for _ in 0..<2 {
                backend.queue.withLock { q in
                    swap(&q.records, &taken)
                    if taken.isEmpty { q.consumerParked = true }
                }
                if !taken.isEmpty { break }
                // A wake-up left over from an earlier poll that timed out is harmless: the loop
                // finds the queue empty and the generator polls again.
                _ = backend.wake.wait(timeout: .now() + .nanoseconds(Int(timeoutNanos)))
            }
            let n = taken.count
            for r in taken { r.withUnsafeBytes(body) }
            taken.removeAll(keepingCapacity: true)
            return n
        }

        func close() async {}
    }
}
