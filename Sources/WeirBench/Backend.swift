import Synchronization

/// The seam between the load generator and a client stack.
///
/// The generator creates topics, producers and consumers through a backend and never sees the
/// client's types: the embedded log (`EmbeddedBackend`), the generator's own ceiling
/// (`NullBackend`), and later a real Kafka cluster through librdkafka plug in here without a
/// change to the generator.
///
/// The hot paths (`BenchProducer.send`, `BenchConsumer.poll`) are synchronous and called from
/// the generator's own threads; lifecycle calls are async.
public protocol BenchBackend: Sendable {
    /// A short name for reports (`embedded`, `null`, `kafka`).
    var name: String { get }
    /// Creates the run's topics (or checks they exist with at least `partitions` partitions).
    func createTopics(_ names: [String], partitions: Int) async throws(BenchError)
    /// A producer for `topic`. Its acknowledgements go to `sink`, from one thread at a time.
    func makeProducer(topic: String, index: Int, sink: DeliverySink) async throws(BenchError) -> any BenchProducer
    /// Member `member` of `members` of consumer group `group` subscribed to `topic`, positioned
    /// at the topic's current end (Kafka's `auto.offset.reset=latest` on a new group).
    func makeConsumer(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> any BenchConsumer
    /// What the client stack counted (bytes on the wire or in the log, for the compression ratio).
    func statistics() async -> BackendStatistics
    /// Closes everything and removes temporary state (the embedded backend's temporary log
    /// directory). Called once, after every producer and consumer closed.
    func shutdown() async
    /// What a report should record about the backend beyond its name: for a cluster, its
    /// bootstrap servers, broker count and cluster id. Empty by default.
    func details() async -> [String: String]
}

extension BenchBackend {
    public func details() async -> [String: String] { [:] }
}

/// A producer as the generator drives it.
public protocol BenchProducer: Sendable {
    /// Sends one record without waiting for its acknowledgement (librdkafka's `produce`).
    ///
    /// `value` is a template: the backend sends a copy whose first 8 bytes carry
    /// `intendedNanos` (see `BenchStamp`), so consumers can measure end-to-end latency. The
    /// acknowledgement (or failure) goes to the producer's `DeliverySink`. Blocks only while the
    /// client's buffer is full (`buffer.memory`, `max.block.ms`); that time shows up as publish
    /// delay and publish latency of the following records.
    ///
    /// `sentNanos` is the generator's clock reading for this send (a backend that acknowledges
    /// synchronously, like the null backend, may use it instead of reading the clock again).
    func send(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, intendedNanos: UInt64, sentNanos: UInt64)
    /// Sends everything buffered and waits for its acknowledgements.
    func flush() async
    /// Flushes and releases the producer.
    func close() async
}

/// A consumer as the generator drives it; `poll` is called by one thread.
public protocol BenchConsumer: Sendable {
    /// Waits up to `timeoutNanos` for records and calls `body` with each record's value (valid
    /// only inside `body`). Returns the number of records.
    func poll(timeoutNanos: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int
    /// Commits (where the backend does) and releases the consumer.
    func close() async
}

/// Counters a backend reports after a run.
public struct BackendStatistics: Sendable, Codable, Equatable {
    /// Bytes the producers handed to the log or the wire, after compression and batch framing.
    public var producedBatchBytes: Int64 = 0
    /// Batches the producers sent.
    public var producedBatches: Int64 = 0
    /// Records the client reported as failed.
    public var failedRecords: Int64 = 0
    /// Records retried.
    public var retries: Int64 = 0

    public init() {}
}

/// The first 8 bytes of every benchmark record's value: the intended send time in nanoseconds
/// on `monotonicNanos()`'s clock, little-endian. End-to-end latency is the consumer's
/// `monotonicNanos()` minus this stamp, so producer and consumer must share a clock (one host).
public enum BenchStamp {
    /// Bytes the stamp takes; values are at least this long.
    public static let size = 8

    /// Writes `nanos` into the first 8 bytes of `buffer` (which has at least 8 bytes).
    @inlinable
    public static func write(_ nanos: UInt64, into buffer: UnsafeMutableRawPointer) {
        buffer.storeBytes(of: nanos.littleEndian, as: UInt64.self)
    }

    /// The stamp of a value, or nil when the value is shorter than 8 bytes.
    @inlinable
    public static func read(_ value: UnsafeRawBufferPointer) -> UInt64? {
        guard value.count >= size else { return nil }
        return UInt64(littleEndian: value.loadUnaligned(as: UInt64.self))
    }

    /// A stamped copy of `template` (padded to 8 bytes when shorter).
    @inlinable
    public static func stampedCopy(of template: UnsafeRawBufferPointer, nanos: UInt64) -> [UInt8] {
        let count = Swift.max(size, template.count)
        return [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            let raw = UnsafeMutableRawPointer(buf.baseAddress!)
            if template.count > 0 { raw.copyMemory(from: template.baseAddress!, byteCount: template.count) }
            if template.count < size { (raw + template.count).initializeMemory(as: UInt8.self, repeating: 0, count: size - template.count) }
            write(nanos, into: raw)
            initialized = count
        }
    }
}

/// Where a producer's acknowledgements are recorded: the publish latency (acknowledgement time
/// minus intended send time) into a single-writer `LatencyRecorder`.
///
/// A backend calls `delivered`/`failed` from one thread at a time (like librdkafka's delivery
/// report callback, served by one poll loop).
public final class DeliverySink: Sendable {
    let recorder: LatencyRecorder
    let acked: _Counts

    init(recorder: LatencyRecorder, acked: _Counts) {
        self.recorder = recorder
        self.acked = acked
    }

    /// A record was acknowledged now.
    public func delivered(intendedNanos: UInt64, bytes: Int) {
        delivered(intendedNanos: intendedNanos, bytes: bytes, at: monotonicNanos())
    }

    /// A record was acknowledged at `now` (a `monotonicNanos()` reading).
    @inline(__always)
    public func delivered(intendedNanos: UInt64, bytes: Int, at now: UInt64) {
        recorder.record(latencyNanos: now &- intendedNanos, bytes: bytes, now: now)
        acked._add(1)
    }

    /// `count` records failed.
    public func failed(_ count: Int) {
        recorder.recordErrors(count, now: monotonicNanos())
        acked._add(count)
        acked._failed(count)
    }
}

/// A counter the drain logic waits on: one per sink, so producers never share a cache line.
final class _Counts: Sendable {
    let value: Atomic<Int>
    let failures: Atomic<Int>
    init() {
        value = Atomic(0)
        failures = Atomic(0)
    }
    func _add(_ n: Int) { value.add(n, ordering: .relaxed) }
    func _failed(_ n: Int) { failures.add(n, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

/// A benchmark failure: what went wrong and what to do, with the CLI's exit code.
public struct BenchError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A bad workload file, flag or value (exit code 2).
        case usage
        /// The backend or the client failed.
        case backend
        /// Reading or writing a result file failed.
        case io
    }
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func usage(_ message: String) -> BenchError { BenchError(.usage, message) }
    public var description: String { message }
}
