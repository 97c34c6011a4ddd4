import CRdKafka
import Foundation
import Synchronization
public import WeirFormat
import WeirClientAPI

/// A delivery report as the producer's `onDelivery` handler sees it (librdkafka's `dr_msg_cb`),
/// without allocating: the caller's `token` identifies the record.
public struct KafkaDelivery: Sendable {
    /// The token given to `produce` (librdkafka's per-message opaque).
    public var token: UInt64
    /// The record's topic.
    public var topic: String
    public var partition: Int32
    /// The offset the broker assigned, or -1 when unknown (`acks=0`) or failed.
    public var offset: Int64
    /// Bytes of the record's value.
    public var valueCount: Int
    /// Why the record was not delivered, or nil.
    public var error: KafkaError?
}

/// The result of `KafkaProducer.send`.
public struct KafkaDeliveryReport: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The record's timestamp (milliseconds since the epoch; `rd_kafka_message_timestamp`),
    /// -1 when unknown.
    public var timestamp: Int64 = -1
}

/// A topic handle for `KafkaProducer.produce` (librdkafka's `rd_kafka_topic_t`).
public struct KafkaTopic: Sendable {
    let _handle: _TopicHandle
    public var name: String { _handle.name }
}

/// Owns one `rd_kafka_topic_t` and keeps its client alive until the handle is destroyed.
///
/// `@unchecked Sendable`: `rd_kafka_topic_t` is immutable and thread-safe to produce through.
final class _TopicHandle: @unchecked Sendable {
    let name: String
    let pointer: OpaquePointer
    let client: _Client

    init(client: _Client, name: String) throws(KafkaError) {
        guard let rkt = rd_kafka_topic_new(client.handle, name, nil) else {
            throw KafkaError(rd_kafka_last_error(), context: "cannot create a handle for topic '\(name)'")
        }
        self.name = name
        self.pointer = rkt
        self.client = client
    }

    deinit { rd_kafka_topic_destroy(pointer) }
}

/// Serves a handle's callbacks (`rd_kafka_poll`) on a dedicated thread until stopped.
final class _PollThread: Sendable {
    let stopRequested = Atomic<Bool>(false)
    let exit = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init(client: _Client, name: String) {
        let thread = Thread { [self] in
            while !self.stopRequested.load(ordering: .acquiring) {
                rd_kafka_poll(client.handle, 50)
            }
            // Serve what is left (delivery reports of a flush) once more.
            rd_kafka_poll(client.handle, 0)
            let waiters = self.exit.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.done = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for w in waiters { w.resume() }
        }
        thread.name = name
        thread.start()
    }

    /// Stops the loop and waits for the thread to finish.
    func stop() async {
        stopRequested.store(true, ordering: .releasing)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = exit.withLock { state -> Bool in
                if !state.done { state.waiters.append(c) }
                return state.done
            }
            if done { c.resume() }
        }
    }
}

/// A librdkafka producer (`rd_kafka_new(RD_KAFKA_PRODUCER)`) with delivery reports served by
/// its own poll thread.
///
/// Two ways to send:
/// - `produce(to:…token:)`: no allocation per record and no waiting; the delivery report goes
///   to the `onDelivery` handler (called on the poll thread, one report at a time) with the
///   record's `token`. This is the load generator's path.
/// - `send(topic:…)`: async, returns the record's partition and offset or throws its error.
///
/// Properties (`KafkaConfiguration`) pass to librdkafka unchanged: `acks`, `linger.ms`,
/// `batch.size`, `compression.type`, `enable.idempotence`, `message.timeout.ms`,
/// `queue.buffering.max.messages`, ….
///
/// `@unchecked Sendable`: librdkafka's producer handle is thread-safe; the topic cache is behind
/// a Mutex and the callback state behind Mutex/Atomic (`_ClientState`).
public final class KafkaProducer: @unchecked Sendable {
    let client: _Client
    let poller: _PollThread
    let topics = Mutex<[String: _TopicHandle]>([:])
    let nextToken = Atomic<UInt64>(0)
    let closed = Atomic<Bool>(false)

    /// Tokens of `send` carry this bit; `produce` tokens must stay below it.
    static let asyncTokenBit: UInt64 = 1 << 63

    /// Creates the producer; no broker is contacted until the first record or metadata call.
    ///
    /// - Parameters:
    ///   - configuration: librdkafka properties (`bootstrap.servers` at least).
    ///   - statistics: collect librdkafka's statistics (`statistics.interval.ms`, 500 ms unless
    ///     set) for `statistics()`.
    ///   - onDelivery: delivery reports of `produce(to:…)`.
    /// - Throws: a configuration error naming the property librdkafka rejected.
    public init(configuration: KafkaConfiguration, statistics: Bool = false, onDelivery: (@Sendable (KafkaDelivery) -> Void)? = nil) throws(KafkaError) {
        try configuration.checkNoMockName()
        let state = _ClientState(onDelivery: onDelivery)
        client = try _Client(kind: .producer, properties: configuration.properties, state: state, statistics: statistics)
        poller = _PollThread(client: client, name: "weir-kafka-producer-poll")
    }

    deinit {
        poller.stopRequested.store(true, ordering: .releasing)
    }

    /// A handle for `topic` (cached; `rd_kafka_topic_new`).
    public func topic(_ name: String) throws(KafkaError) -> KafkaTopic {
        let cached = topics.withLock { $0[name] }
        if let cached { return KafkaTopic(_handle: cached) }
        let handle = try _TopicHandle(client: client, name: name)
        return KafkaTopic(_handle: topics.withLock { table in
            if let existing = table[name] { return existing }
            table[name] = handle
            return handle
        })
    }

    /// Enqueues one record (`rd_kafka_produce` with `RD_KAFKA_MSG_F_COPY`), blocking while
    /// librdkafka's queue is full (`queue.buffering.max.messages`/`.kbytes`,
    /// `RD_KAFKA_MSG_F_BLOCK`) unless `block` is false.
    ///
    /// - Parameters:
    ///   - partition: nil for the configured partitioner (`partitioner`, default
    ///     `consistent_random`).
    ///   - token: passed back in the delivery report; below 2^63.
    /// - Throws: `QUEUE_FULL` when not blocking, `MSG_SIZE_TOO_LARGE`, `UNKNOWN_PARTITION`, ….
    public func produce(to topic: KafkaTopic, partition: Int32? = nil, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, token: UInt64, block: Bool = true) throws(KafkaError) {
        let flags = RD_KAFKA_MSG_F_COPY | (block ? RD_KAFKA_MSG_F_BLOCK : 0)
        let rc = rd_kafka_produce(
            topic._handle.pointer, partition ?? -1, flags,
            UnsafeMutableRawPointer(mutating: value.baseAddress), value.count,
            key?.baseAddress, key?.count ?? 0,
            UnsafeMutableRawPointer(bitPattern: UInt(token)))
        if rc != 0 {
            throw KafkaError(rd_kafka_last_error(), context: "cannot enqueue a record for topic '\(topic.name)'")
        }
    }

    /// `produce` with a timestamp and headers (`rd_kafka_producev`, copying them), blocking while
    /// the queue is full; the outcome goes to the delivery handler with `token` (below 2^63).
    public func produce(to topic: KafkaTopic, partition: Int32? = nil, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
                        timestamp: Int64?, headers: [RecordHeader], token: UInt64) throws(KafkaError) {
        let err = Self._producev(client: client, topic: topic, partition: partition, key: key, value: value,
                                 headers: headers, timestamp: timestamp, token: token)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, context: "cannot enqueue a record for topic '\(topic.name)'")
        }
    }

    /// Sends one record and waits for its delivery report.
    ///
    /// - Returns: the partition and offset the broker assigned.
    /// - Throws: the delivery error (`isRetriable` tells whether another attempt may succeed).
    public func send(topic name: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8]) async throws(KafkaError) -> KafkaDeliveryReport {
        try await send(topic: name, partition: partition, key: key, value: Optional(value), headers: [])
    }

    /// Sends one record with headers and waits for its delivery report (`rd_kafka_producev`
    /// with `RD_KAFKA_V_HEADERS`).
    ///
    /// - Parameters:
    ///   - value: nil for a null value (a tombstone on a compacted topic).
    ///   - headers: sent in order; a header's nil value is a null header value.
    ///   - timestamp: the record's CreateTime in milliseconds since the epoch; nil for now.
    /// - Returns: the partition, offset and timestamp of the record.
    /// - Throws: the enqueue or delivery error (`isRetriable` tells whether another attempt may
    ///   succeed).
    public func send(topic name: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?,
                     headers: [RecordHeader], timestamp: Int64? = nil) async throws(KafkaError) -> KafkaDeliveryReport {
        guard !closed.load(ordering: .acquiring) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__STATE, context: "send to '\(name)'", detail: "the producer is closed; create a new one")
        }
        let topic = try topic(name)
        let token = Self.asyncTokenBit | nextToken.add(1, ordering: .relaxed).newValue
        let state = client.state
        let result: Result<KafkaDeliveryReport, KafkaError> = await withCheckedContinuation { continuation in
            state.waiting.withLock { $0[token] = continuation }
            state.waitingCount.add(1, ordering: .releasing)
            let err = _withOptionalBytes(key) { k in
                _withOptionalBytes(value) { v in
                    Self._producev(client: client, topic: topic, partition: partition, key: k, value: v,
                                   headers: headers, timestamp: timestamp, token: token)
                }
            }
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let c = state.waiting.withLock { $0.removeValue(forKey: token) }
                state.waitingCount.subtract(1, ordering: .relaxed)
                c?.resume(returning: .failure(KafkaError(err, context: "cannot enqueue a record for topic '\(name)'")))
            }
        }
        return try result.get()
    }

    /// One `rd_kafka_producev` call (copying key, value and headers), blocking while the queue
    /// is full.
    static func _producev(client: _Client, topic: KafkaTopic, partition: Int32?, key: UnsafeRawBufferPointer?,
                          value: UnsafeRawBufferPointer?, headers: [RecordHeader], timestamp: Int64?, token: UInt64) -> rd_kafka_resp_err_t {
        var hdrs: OpaquePointer?
        if !headers.isEmpty {
            hdrs = rd_kafka_headers_new(headers.count)
            for h in headers {
                let err: rd_kafka_resp_err_t = _withOptionalBytes(h.value) { v in
                    rd_kafka_header_add(hdrs, h.key, -1, v?.baseAddress, v?.count ?? 0)
                }
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    rd_kafka_headers_destroy(hdrs)
                    return err
                }
            }
        }
        let err = weir_rd_kafka_producev(
            client.handle, topic._handle.pointer, partition ?? -1, RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_BLOCK,
            value?.baseAddress, value?.count ?? 0, key?.baseAddress, key?.count ?? 0, timestamp ?? 0, hdrs,
            UnsafeMutableRawPointer(bitPattern: UInt(token)))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs { rd_kafka_headers_destroy(hdrs) }
        return err
    }

    /// Records waiting to be sent or acknowledged, plus delivery reports not yet served
    /// (`rd_kafka_outq_len`).
    public var outstanding: Int { Int(rd_kafka_outq_len(client.handle)) }

    /// Waits until every record has been acknowledged (or failed) and its delivery report served.
    ///
    /// The poll thread serves the reports; this waits for `rd_kafka_outq_len` to reach 0, so
    /// delivery reports still come from one thread.
    ///
    /// - Throws: `_TIMED_OUT` with the number still outstanding after `timeout`.
    public func flush(timeout: Duration = .seconds(60)) async throws(KafkaError) {
        let deadline = MonotonicDeadline(after: timeout)
        while rd_kafka_outq_len(client.handle) > 0 {
            if deadline.hasPassed {
                throw KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, context: "flush",
                                 detail: "\(outstanding) record(s) still unacknowledged after \(timeout)\(client.state.lastProblem.map { " (last error: \($0))" } ?? "")")
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Flushes (up to `timeout`), then stops the poll thread. Records still outstanding after
    /// the timeout are purged and reported as failed (`rd_kafka_purge`).
    public func close(timeout: Duration = .seconds(30)) async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        do { try await flush(timeout: timeout) } catch {
            rd_kafka_purge(client.handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
            try? await flush(timeout: .seconds(5))
        }
        await poller.stop()
        topics.withLock { $0.removeAll() }
    }

    /// What librdkafka's statistics counted so far (with `statistics: true`).
    public func statistics() -> KafkaProducerStatistics {
        let s = client.state.stats.withLock { $0 }
        return KafkaProducerStatistics(batchBytes: s.batchBytes, batches: s.batches, retries: s.retries,
                                       transmittedBytes: s.txBytes, failedRecords: Int64(client.state.failedDeliveries.load(ordering: .relaxed)))
    }

    /// Waits for the next statistics emission (so that `statistics()` covers everything sent).
    public func awaitStatistics(timeout: Duration = .seconds(2)) async {
        let start = client.state.statsEmissions.load(ordering: .acquiring)
        let deadline = MonotonicDeadline(after: timeout)
        while client.state.statsEmissions.load(ordering: .acquiring) == start && !deadline.hasPassed {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The cluster's metadata (`rd_kafka_metadata`), blocking up to `timeout` on a thread of its own.
    public func metadata(topic: String? = nil, timeout: Duration = .seconds(10)) async throws(KafkaError) -> KafkaClusterMetadata {
        let client = self.client
        return try await _blocking { () throws(KafkaError) in try client.metadata(topic: topic, timeout: timeout) }
    }

    /// The dr_msg_cb body: resumes an async `send` or calls `onDelivery`.
    static func _delivered(_ message: UnsafePointer<rd_kafka_message_t>, state: _ClientState) {
        let m = message.pointee
        let token = UInt64(UInt(bitPattern: m._private))
        var error: KafkaError?
        if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
            error = KafkaError(m.err, context: "delivery to \(topic) [\(m.partition)] failed")
            state.failedDeliveries.add(1, ordering: .relaxed)
        }
        if token & asyncTokenBit != 0 {
            guard let c = state.waiting.withLock({ $0.removeValue(forKey: token) }) else { return }
            state.waitingCount.subtract(1, ordering: .relaxed)
            if let error {
                c.resume(returning: .failure(error))
            } else {
                let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
                let timestamp = rd_kafka_message_timestamp(message, nil)
                c.resume(returning: .success(KafkaDeliveryReport(topic: topic, partition: m.partition, offset: m.offset, timestamp: timestamp)))
            }
            return
        }
        guard let onDelivery = state.onDelivery else { return }
        let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        onDelivery(KafkaDelivery(token: token, topic: topic, partition: m.partition, offset: error == nil ? m.offset : -1, valueCount: m.len, error: error))
    }
}

/// Counters from librdkafka's statistics (`statistics.interval.ms`).
public struct KafkaProducerStatistics: Sendable, Equatable {
    /// Bytes of the batches sent (`topics.*.batchsize`, after compression).
    public var batchBytes: Int64
    /// Batches sent (`topics.*.batchsize.cnt`).
    public var batches: Int64
    /// Requests retried (`brokers.*.txretries`).
    public var retries: Int64
    /// Bytes sent to the brokers, all requests (`brokers.*.txbytes`).
    public var transmittedBytes: Int64
    /// Records whose delivery failed.
    public var failedRecords: Int64
}

/// A zero-length buffer with a non-nil address: librdkafka takes a nil pointer for null, so an
/// empty (non-null) key, value or header value needs an address.
nonisolated(unsafe) let _emptyBytes = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

/// Calls `body` with `bytes` as a buffer: nil for nil, an empty buffer with a non-nil address for
/// an empty array.
func _withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    if bytes.isEmpty { return body(UnsafeRawBufferPointer(start: _emptyBytes, count: 0)) }
    return bytes.withUnsafeBytes { body($0) }
}
