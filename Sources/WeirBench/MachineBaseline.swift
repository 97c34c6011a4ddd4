#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Synchronization
public import WeirClientAPI

/// `weir bench run machine`: what this machine can do at all, measured through the same load
/// generator as every other preset, so that a log figure can be stated as a ratio to a baseline
/// taken in the same minutes on the same (shared) machine.
///
/// Four clients (`MessagingClient`, like `NullClient`) with nothing of Weir's log or client in
/// them; the CLI picks them by the step's `backend`:
/// - `machine.pwrite`: each record (64 KiB in the preset) is one `pwrite` at the end of a file
///   in a temporary directory, i.e. a copy into fresh page-cache pages; a new file every 1 GiB,
///   as a log rolls segments. The ceiling of an `acks=1` append path.
/// - `machine.pwrite-kept`: the same, but the files stay until the step ends (at most
///   `keptBytes`; then the oldest is truncated and appended to again), so the page cache grows
///   by everything written and the kernel writes it back, as with a log. On a VM whose memory
///   the host backs only when the guest first touches it, a growing page cache runs at that
///   first-touch speed once it passes the memory touched before (`docs/log-core-performance.md`,
///   "Round 5"). The ceiling of a long max-rate run: run it from a workload file
///   (`backend: machine.pwrite-kept`) for as long as the run it is a baseline for, and read
///   its seconds in `intervals.csv`. Once the files wrap around, the writes reuse memory,
///   and the seconds after that are no longer this baseline.
/// - `machine.pwrite-fdatasync`: `machine.pwrite` with an `fdatasync` after every 64 MiB: the
///   ceiling of an `acks=all` path that group-commits.
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

    /// The client a `machine.*` step names.
    public static func client(for w: Workload) throws(BenchError) -> any MessagingClient {
        switch w.backend.dropFirst(backendPrefix.count) {
        case "pwrite": return try FileClient(syncEvery: 0, keep: false, directory: w.logDir)
        case "pwrite-kept": return try FileClient(syncEvery: 0, keep: true, directory: w.logDir)
        case "pwrite-fdatasync": return try FileClient(syncEvery: 64 << 20, keep: false, directory: w.logDir)
        case "handoff": return HandoffClient()
        default:
            throw .usage("backend: '\(w.backend)' is not a machine baseline; allowed: \(Workload.backends.filter { $0.hasPrefix(backendPrefix) }.joined(separator: ", ")).")
        }
    }

    // MARK: - pwrite into the page cache

    /// Topics are counted only; every producer appends to files of its own.
    final class FileClient: MessagingClient, @unchecked Sendable {
        let directory: String
        let removeDirectory: Bool
        let syncEvery: Int
        /// Files kept until the step ends: at most this many bytes (0 = each file is removed
        /// when the next one starts).
        let keptBytes: Int
        let producers = Atomic<Int>(0)
        let topics = _TopicCounts()

        init(syncEvery: Int, keep: Bool, directory: String?) throws(BenchError) {
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
            keptBytes = keep ? try Self.keptBytes(in: self.directory) : 0
        }

        /// What `machine.pwrite-kept` may keep in `directory`: half its free space, at most
        /// 32 GiB and at least 2 GiB (an error below that: the baseline would measure a full
        /// disk).
        static func keptBytes(in directory: String) throws(BenchError) -> Int {
            var st = statvfs()
            guard statvfs(directory, &st) == 0 else { throw BenchError(.io, "statvfs \(directory): \(String(cString: strerror(errno))).") }
            let free = Int(st.f_bavail) * Int(st.f_frsize)
            guard free >= 4 * FileProducer.rollBytes else {
                throw BenchError(.io, "machine.pwrite-kept needs 4 GiB free in \(directory) (it keeps up to half the free space); \(free >> 20) MiB are free: free some space or set TMPDIR (or --log-dir) to a larger file system.")
            }
            return min(32 << 30, free / 2)
        }

        var backendName: String { syncEvery > 0 ? "machine.pwrite-fdatasync" : keptBytes > 0 ? "machine.pwrite-kept" : "machine.pwrite" }

        func makeProducer(properties: [String: String], onDelivery: DeliveryHandler?) async throws(ClientError) -> any MessageProducer {
            let n = producers.add(1, ordering: .relaxed).newValue
            return FileProducer(path: "\(directory)/producer-\(n)", syncEvery: syncEvery, keptFiles: keptBytes / FileProducer.rollBytes, onDelivery: onDelivery)
        }

        func makeConsumer(properties: [String: String]) async throws(ClientError) -> any MessageConsumer {
            throw ClientError(.invalidConfig, "the machine.pwrite baselines have no consumers; set subscriptionsPerTopic: 0.")
        }

        func ensureTopic(_ name: String, partitions: Int, configs: [String: String]) async throws(ClientError) {
            topics.ensure(name, partitions: partitions)
        }

        func endOffsets(_ partitions: [TopicPartition]) async throws(ClientError) -> [TopicPartition: Int64] {
            _TopicCounts.endOffsets(partitions)
        }

        func partitionCount(_ topic: String) async throws(ClientError) -> Int { topics.count(topic) ?? 1 }

        func close() async {
            if removeDirectory { try? FileManager.default.removeItem(atPath: directory) }
        }
    }

    /// One file at a time, appended with `pwrite`; a new one every `rollBytes`. With
    /// `keptFiles` > 0 the earlier files stay, and after that many the oldest is truncated and
    /// appended to again (as a log deletes its oldest segment): every write still allocates
    /// blocks and grows a file, as an append does. Rewriting a file in place instead ran at
    /// the page-cache copy's speed, with no allocation for write-back to wait for.
    final class FileProducer: _BaselineProducer, Sendable {
        static let rollBytes = 1 << 30
        struct State: ~Copyable {
            var fd: Int32 = -1
            var files = 0
            var position = 0
            var unsynced = 0
        }
        let path: String
        let syncEvery: Int
        let keptFiles: Int
        let onDelivery: DeliveryHandler?
        let state = Mutex(State())

        init(path: String, syncEvery: Int, keptFiles: Int, onDelivery: DeliveryHandler?) {
            self.path = path
            self.syncEvery = syncEvery
            self.keptFiles = keptFiles
            self.onDelivery = onDelivery
        }

        /// The name of the `n`-th file opened (with `keptFiles`, names are reused in turn).
        func _fileName(_ n: Int) -> String { "\(path).\(keptFiles > 0 ? n % keptFiles : n)" }

        /// Appends `value`; returns its position, or nil when the write failed.
        func _write(_ value: UnsafeRawBufferPointer) -> Int64? {
            state.withLock { s -> Int64? in
                if s.fd < 0 || s.position + value.count > Self.rollBytes {
                    if s.fd >= 0 {
                        Glibc.close(s.fd)
                        if keptFiles == 0 { unlink(_fileName(s.files - 1)) }
                    }
                    s.fd = open(_fileName(s.files), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                    s.files += 1
                    s.position = 0
                }
                let at = s.position
                var done = 0
                while done < value.count {
                    let n = pwrite(s.fd, value.baseAddress! + done, value.count - done, off_t(at + done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        return nil
                    }
                    done += n
                }
                s.position += done
                s.unsynced += done
                if syncEvery > 0 && s.unsynced >= syncEvery {
                    _ = fdatasync(s.fd)
                    s.unsynced = 0
                }
                return Int64(at)
            }
        }

        func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
            let at = (record.value ?? []).withUnsafeBytes { _write($0) }
            guard let at else { throw ClientError(.invalidState, "pwrite to \(path) failed: \(String(cString: strerror(errno))).") }
            return RecordMetadata(topic: record.topic, partition: record.partition ?? 0, offset: at, timestamp: record.timestamp ?? 0)
        }

        func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, opaque: UInt64) throws(ClientError) {
            let at = _write(value ?? UnsafeRawBufferPointer(start: nil, count: 0))
            let result: Result<Int64, ClientError> = at.map { .success($0) }
                ?? .failure(ClientError(.invalidState, "pwrite to \(path) failed: \(String(cString: strerror(errno)))."))
            onDelivery?(DeliveryBatchReport(topicPartition: TopicPartition(topic, 0), result: result, opaques: [opaque]))
        }

        func flush() async throws(ClientError) {
            if syncEvery > 0 { state.withLock { s in if s.fd >= 0 { _ = fdatasync(s.fd) } } }
        }

        func close() async {
            state.withLock { s in
                if s.fd >= 0 { Glibc.close(s.fd); s.fd = -1 }
                // The files still there: the last one, or the last `keptFiles`.
                for n in max(0, s.files - max(1, keptFiles))..<s.files { unlink(_fileName(n)) }
            }
        }
    }

    // MARK: - Two-thread hand-off

    /// A queue under a lock, and a semaphore (a futex) the consumer parks on when it is empty.
    /// One partition; every consumer takes from the same queue (the preset runs one).
    final class HandoffClient: MessagingClient, Sendable {
        struct Queue: ~Copyable {
            /// Each record's value and its send stamp (nil for `send`).
            var records: [(value: [UInt8], stamp: UInt64?)] = []
            var consumerParked = false
            var produced: Int64 = 0
        }
        let queue = Mutex(Queue())
        let wake = DispatchSemaphore(value: 0)

        var backendName: String { "machine.handoff" }

        func makeProducer(properties: [String: String], onDelivery: DeliveryHandler?) async throws(ClientError) -> any MessageProducer {
            HandoffProducer(client: self, onDelivery: onDelivery)
        }

        func makeConsumer(properties: [String: String]) async throws(ClientError) -> any MessageConsumer {
            HandoffConsumer(client: self)
        }

        func ensureTopic(_ name: String, partitions: Int, configs: [String: String]) async throws(ClientError) {}

        func endOffsets(_ partitions: [TopicPartition]) async throws(ClientError) -> [TopicPartition: Int64] {
            let produced = queue.withLock { $0.produced }
            return Dictionary(uniqueKeysWithValues: partitions.map { ($0, produced) })
        }

        func partitionCount(_ topic: String) async throws(ClientError) -> Int { 1 }

        /// Queues a copy of `value`, waking the consumer when it is parked; returns its offset.
        func _put(_ value: UnsafeRawBufferPointer, stamp: UInt64? = nil) -> Int64 {
            let record = ([UInt8](value), stamp)
            let (offset, parked) = queue.withLock { q -> (Int64, Bool) in
                q.records.append(record)
                q.produced += 1
                let parked = q.consumerParked
                q.consumerParked = false
                return (q.produced - 1, parked)
            }
            if parked { wake.signal() }
            return offset
        }
    }

    struct HandoffProducer: _BaselineProducer {
        let client: HandoffClient
        let onDelivery: DeliveryHandler?

        func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
            let offset = (record.value ?? []).withUnsafeBytes { client._put($0) }
            return RecordMetadata(topic: record.topic, partition: 0, offset: offset, timestamp: record.timestamp ?? 0)
        }

        func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, opaque: UInt64) throws(ClientError) {
            _produce(topic, value, stamp: nil, opaque: opaque)
        }

        func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                        timestamp: Int64?, stamp: UInt64, opaque: UInt64) throws(ClientError) {
            _produce(topic, value, stamp: stamp, opaque: opaque)
        }

        /// Queues the value (with its stamp) and reports its offset at once.
        func _produce(_ topic: String, _ value: UnsafeRawBufferPointer?, stamp: UInt64?, opaque: UInt64) {
            let offset = client._put(value ?? UnsafeRawBufferPointer(start: nil, count: 0), stamp: stamp)
            onDelivery?(DeliveryBatchReport(topicPartition: TopicPartition(topic, 0), result: .success(offset), opaques: [opaque]))
        }
    }

    final class HandoffConsumer: _BaselineConsumer, @unchecked Sendable {
        let client: HandoffClient
        let topic = Mutex<String?>(nil)
        // Touched only by the generator's consumer thread.
        var taken: [(value: [UInt8], stamp: UInt64?)] = []
        var offset: Int64 = 0

        init(client: HandoffClient) { self.client = client }

        func subscribe(topics: [String], listener: (any MessageRebalanceListener)?) async throws(ClientError) {
            topic.withLock { $0 = topics.first }
        }
        func assign(_ partitions: [TopicPartition]) async throws(ClientError) {
            topic.withLock { $0 = partitions.first?.topic }
        }
        func pollBlocking(timeout: Duration, _ body: (ConsumerRecordView) -> Void) throws(ClientError) -> Int {
            let nanos = Int(max(0, timeout._nanoseconds))
            for _ in 0..<2 {
                client.queue.withLock { q in
                    swap(&q.records, &taken)
                    if taken.isEmpty { q.consumerParked = true }
                }
                if !taken.isEmpty { break }
                // A wake-up left over from an earlier poll that timed out is harmless: the loop
                // finds the queue empty and the generator polls again.
                _ = client.wake.wait(timeout: .now() + .nanoseconds(nanos))
            }
            let n = taken.count
            for r in taken {
                r.value.withUnsafeBytes { body(ConsumerRecordView(partition: 0, offset: offset, key: nil, value: $0, stamp: r.stamp)) }
                offset += 1
            }
            taken.removeAll(keepingCapacity: true)
            return n
        }

        func assignment() async -> [TopicPartition] {
            guard let topic = topic.withLock({ $0 }) else { return [] }
            return [TopicPartition(topic, 0)]
        }
    }
}
