#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import WeirCompression
public import WeirFormat
public import WeirLog

/// A producer on the embedded log: Kafka's `KafkaProducer`.
///
/// Records go into a per-partition accumulator (one open batch per partition, `batch.size`,
/// `linger.ms`), are encoded straight into that batch, and are appended to the partition's log
/// by one drainer per partition, in order, with `acks`, retries and (by default) idempotence.
///
/// **Create one producer and share it.** A producer is `Sendable` and meant to be used from
/// many tasks and threads at once: the reference document's "reuse one producer" advice (and
/// its "creating too many producers" pitfall) applies here too. Every producer owns buffers
/// (`buffer.memory`) and background work, and records from different producers do not share
/// batches. Do not create a producer per message.
///
/// ```swift
/// let producer = try Producer(configuration: config, logDirectory: dir)
/// let metadata = try await producer.send(ProducerRecord(topic: "orders", key: "id-1", value: "{}"))
/// let id = try await producer.produce(ProducerRecord(topic: "orders", key: nil, value: "{}"))  // fire and forget
/// await producer.flush()
/// await producer.close()
/// ```
public final class Producer: Sendable {
    public let configuration: ProducerConfiguration
    public let logDirectory: LogDirectory

    final class _TopicState: Sendable {
        let name: String
        let partitions: [_PartitionAccumulator]
        let partitionCount: Int32
        /// `partitions` unretained (the array keeps them alive), for the per-record path.
        nonisolated(unsafe) let _unretained: UnsafeMutableBufferPointer<Unmanaged<_PartitionAccumulator>>
        let sticky: Atomic<Int32>
        let roundRobin: Atomic<UInt32>
        init(name: String, partitions: [_PartitionAccumulator]) {
            self.name = name
            self.partitions = partitions
            self.partitionCount = Int32(partitions.count)
            self._unretained = .allocate(capacity: partitions.count)
            _ = self._unretained.initialize(from: partitions.lazy.map { Unmanaged.passUnretained($0) })
            self.sticky = Atomic(Int32.random(in: 0..<Int32(partitions.count)))
            self.roundRobin = Atomic(UInt32.random(in: 0..<UInt32(partitions.count)))
        }
        deinit { _unretained.deallocate() }
    }

    final class _Topic: Sendable {
        let state: _TopicState
        /// The authorizer's generation when write on the topic was checked, and the box this one
        /// replaced after a recheck (kept alive: `_lastTopic` may still point to it).
        let acl: ACLAuthorizer, aclGeneration: UInt64, previous: _Topic?
        init(_ s: _TopicState, acl: ACLAuthorizer, aclGeneration: UInt64, previous: _Topic? = nil) {
            (state, self.acl, self.aclGeneration, self.previous) = (s, acl, aclGeneration, previous)
        }
    }

    let _topics = Mutex<[String: _Topic]>([:])
    let _memory: _BufferMemory
    let _closed = Atomic<Bool>(false)
    let _nextMessageID = Atomic<UInt64>(0)
    let _pools = Mutex<[[_Batch]]>(Array(repeating: [], count: 8))
    /// The last topic looked up (an unretained `_Topic`, kept alive by `_topics`), so that a
    /// producer sending to one topic skips the dictionary.
    let _lastTopic = Atomic<UInt>(0)
    // Statistics.
    let _sent = Atomic<Int64>(0), _failed = Atomic<Int64>(0), _batches = Atomic<Int64>(0), _bytes = Atomic<Int64>(0),
        _uncompressedBytes = Atomic<Int64>(0)
    /// `stallAppends`: appends wait while it is set (a fault injected by the bench).
    let _appendStalled = Atomic<Bool>(false)
    let _retries = Atomic<Int64>(0), _duplicates = Atomic<Int64>(0)
    /// Partitions whose last batch failed with a full disk after retrying for
    /// `delivery.timeout.ms`: their next batches fail at the first `noSpace` instead of each
    /// retrying for that long again, until an append succeeds (space was freed).
    let _diskFull = Mutex<Set<TopicPartition>>([]), _anyDiskFull = Atomic<Bool>(false)
    /// Producer id and epoch (-1 when not idempotent); the epoch changes with `initTransactions`.
    let _producerId = Atomic<Int64>(-1)
    let _producerEpoch = Atomic<Int16>(-1)
    let _idempotent: Bool
    /// Settings the per-record path reads, copied out of `configuration` once.
    let _lingerMs: Int64, _acksAll: Bool, _maxRequestSize: Int
    let _transactions: _ProducerTransactions?
    /// Test hook: every n-th append is reported as failed (retriable) after the log wrote it, so
    /// the batch is retried (0 = never).
    let _injectLostAcknowledgementEvery = Atomic<Int>(0)
    /// Test hook: every n-th append fails (retriable) before the log writes it (0 = never).
    let _injectAppendFailureEvery = Atomic<Int>(0)
    let _appendCount = Atomic<Int>(0)
    /// `onDelivery`'s handler; the flag spares the hot path a lock when there is none.
    let _deliveryHandler = Mutex<_DeliveryHandler?>(nil)
    let _hasDeliveryHandler = Atomic<Bool>(false)

    /// Creates a producer on an open log directory.
    ///
    /// - Throws: `.invalidConfig` for an invalid configuration.
    public init(configuration: ProducerConfiguration = ProducerConfiguration(), logDirectory: LogDirectory) throws(ClientError) {
        try configuration.validate()
        self.configuration = configuration
        self.logDirectory = logDirectory
        self._memory = _BufferMemory(total: configuration.bufferMemory)
        self._idempotent = configuration.isIdempotent
        (_lingerMs, _acksAll, _maxRequestSize) = (configuration.lingerMs, configuration.acks == .all, configuration.maxRequestSize)
        if configuration.transactionalId != nil {
            _transactions = _ProducerTransactions()
        } else {
            _transactions = nil
            if _idempotent {
                let coordinator = _TransactionCoordinator.shared(for: logDirectory)
                _producerId.store(coordinator.allocateProducerId(), ordering: .relaxed)
                _producerEpoch.store(0, ordering: .relaxed)
            }
        }
    }

    /// The producer id (-1 when the producer is not idempotent or before `initTransactions`).
    public var producerId: Int64 { _producerId.load(ordering: .relaxed) }
    /// The producer epoch (-1 when not idempotent).
    public var producerEpoch: Int16 { _producerEpoch.load(ordering: .relaxed) }

    /// The producer's counters so far.
    public var statistics: ProducerStatistics {
        ProducerStatistics(recordsSent: _sent.load(ordering: .relaxed), recordsFailed: _failed.load(ordering: .relaxed),
                           batchesSent: _batches.load(ordering: .relaxed), bytesSent: _bytes.load(ordering: .relaxed),
                           retries: _retries.load(ordering: .relaxed), duplicatesSuppressed: _duplicates.load(ordering: .relaxed),
                           uncompressedBytesSent: _uncompressedBytes.load(ordering: .relaxed))
    }

    // MARK: - Sending
    //
    // Three calls, one per kind of caller; each encodes the record into its partition's batch
    // the same way and reports to `onDelivery` and `statistics`:
    // - `send`: application code in a task that needs the record's offset (or its error) before
    //   it goes on;
    // - `produce`: code in a task that sends many records and learns the outcome later (from
    //   `flush()`, `statistics`, or `onDelivery` by the returned id), without a suspension per
    //   acknowledgement;
    // - `produceNow`: code on its own threads (load generators, thread-per-partition apps), with
    //   borrowed bytes and no task at all.

    /// Sends a record and waits for its acknowledgement (`acks`): Kafka's `send(...).get()`.
    /// Use it when the caller needs the offset, or must not go on before the record is safe.
    ///
    /// Blocks (suspends) up to `max.block.ms` while `buffer.memory` is full.
    /// - Returns: the topic, partition, offset and timestamp of the record.
    /// - Throws: `ClientError` (`.unknownTopicOrPartition`, `.recordTooLarge`, `.bufferExhausted`,
    ///   `.deliveryTimeout`, `.producerFenced`, `.producerClosed`, ...).
    @discardableResult
    public func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
        let promise = _DeliveryPromise()
        _ = try await _enqueue(record, promise: promise)
        return try await promise.value.get()
    }

    /// Sends a record without waiting for its acknowledgement (fire and forget; librdkafka's
    /// `produce`), from a task. Use it to send many records without a suspension per
    /// acknowledgement; the outcome goes to the `onDelivery` handler (with the returned id as
    /// the opaque) and to `statistics`, and `flush()` waits for it.
    ///
    /// Suspends only while `buffer.memory` is full (up to `max.block.ms`).
    /// - Returns: the record's id, the opaque its delivery report carries.
    @discardableResult
    nonisolated(nonsending) public func produce(_ record: ProducerRecord) async throws(ClientError) -> UInt64 {
        var send = try _prepare(record)
        var spare: _Batch? = nil
        while try !_attempt(nil, &send, &spare, inline: false, { b, t in b._withUnsafeGuaranteedRef { _append($0, record, t) } }) {
            spare = try await _newBatch(send.topic.partitions[Int(send.partition)], recordSize: send.size)
        }
        return send.id
    }

    /// Sends a record from the calling thread, without a task or a suspension: librdkafka's
    /// `rd_kafka_producev`. The key, value and headers are encoded into the partition's open batch
    /// before the call returns, so the buffers may be reused at once.
    ///
    /// When a batch is ready to go (at once with `linger.ms=0`, or when it is full), the calling
    /// thread appends it to the log itself, as the partition's one drainer: no task hop lies
    /// between this call and the record's visibility to consumers. With `acks=all`, and for
    /// retries after a retriable failure, a drainer task takes over. The outcome goes to the
    /// `onDelivery` handler (with `opaque`, librdkafka's `msg_opaque`) and to `statistics`;
    /// `flush()` waits for it. Use it from threads of your own: it never suspends.
    ///
    /// Blocks the calling thread (polling every 50 µs) while `buffer.memory` is full, up to
    /// `max.block.ms`. Call it from your own threads, not from an async task.
    ///
    /// Without a `timestamp`, the record's `CreateTime` is the wall clock in milliseconds, as
    /// Kafka's producer stamps it; the clock is read at most once per 65,536 CPU cycles on each
    /// thread (x86-64), so a stamp is never later than the clock and at most about 66 µs earlier.
    ///
    /// - Returns: the record's id.
    /// - Throws: `.producerClosed`, `.unknownTopicOrPartition`, `.recordTooLarge`,
    ///   `.bufferExhausted` (retriable) after `max.block.ms`, `.producerFenced` and the other
    ///   transaction errors.
    @discardableResult
    public func produceNow(topic: String, partition: Int32? = nil, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                           headers: [RecordHeader] = [], timestamp: Int64? = nil, opaque: UInt64 = 0) throws(ClientError) -> UInt64 {
        var size = 21 + (key?.count ?? 0) + (value?.count ?? 0)
        for h in headers { size += 10 + h.key.utf8.count + (h.value?.count ?? 0) }
        // Each closure is passed straight to a non-escaping parameter, so its context stays on
        // the stack (kept in a variable, it was allocated on the heap for every record).
        if headers.isEmpty {
            return try _produceNow(topic: topic, partition: partition, key: key, size: size, timestamp: timestamp, opaque: opaque) { b, ts in
                b._withUnsafeGuaranteedRef { $0.append(timestamp: ts, key: key, value: value) }
            }
        }
        return try _produceNow(topic: topic, partition: partition, key: key, size: size, timestamp: timestamp, opaque: opaque) { b, ts in
            b._withUnsafeGuaranteedRef { $0.append(timestamp: ts, key: key, value: value, headers: headers) }
        }
    }

    /// `_newBatch` for a thread: polls `buffer.memory` every 50 µs up to `max.block.ms`.
    func _newBatchBlocking(_ acc: _PartitionAccumulator, recordSize: Int) throws(ClientError) -> _Batch {
        let deadline = _monotonicNanos() + configuration.maxBlockMs * 1_000_000
        while true {
            if let b = try _tryNewBatch(acc, recordSize: recordSize) { return b }
            if _monotonicNanos() >= deadline {
                throw ClientError(.bufferExhausted, "buffer.memory=\(configuration.bufferMemory) stayed full for max.block.ms=\(configuration.maxBlockMs) ms: records are produced faster than the log takes them. Raise buffer.memory or max.block.ms, or slow down.", isRetriable: true)
            }
            usleep(50)
        }
    }

    /// Installs (or, with nil, removes) the delivery handler: called once per batch when it is
    /// acknowledged or fails, with the `opaque` of each of its records in order (librdkafka's
    /// `dr_msg_cb`). It runs on the thread that completed the batch (a `produceNow` caller or a
    /// drainer task), possibly on several threads at once for different partitions; keep it
    /// short. Records sent with `send`/`produce` report their id as the opaque. Install it before
    /// sending: records already buffered carry no opaque.
    public func onDelivery(_ handler: (@Sendable (DeliveryBatchReport) -> Void)?) {
        // Boxed: a closure kept in a generic container would be re-thunked at every access.
        _deliveryHandler._withLock { $0 = handler.map(_DeliveryHandler.init) }
        _hasDeliveryHandler.store(handler != nil, ordering: .relaxed)
    }

    // MARK: - Flush and close

    /// Sends every buffered record now (ignoring `linger.ms`) and waits until all records sent
    /// before the call are acknowledged or failed. Kafka's `flush()`.
    public func flush() async {
        let accs = _topics._withLock { t in t.values.flatMap { $0.state.partitions } }
        var targets: [(_PartitionAccumulator, UInt64)] = []
        for acc in accs {
            let (target, start) = acc._markFlush()
            if start { _startDrainer(acc) }
            if target > 0 { targets.append((acc, target)) }
        }
        for (acc, target) in targets { await acc.waitCompleted(target) }
    }

    /// Stops accepting records, then sends and waits for everything buffered. Kafka's
    /// `close()`. Idempotent.
    public func close() async {
        if _closed.exchange(true, ordering: .acquiringAndReleasing) { return }
        await flush()
    }
}

/// `onDelivery`'s handler in a box.
final class _DeliveryHandler: Sendable {
    let body: @Sendable (DeliveryBatchReport) -> Void
    init(_ body: @escaping @Sendable (DeliveryBatchReport) -> Void) { self.body = body }
}

@inline(__always)
func _withOptional<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
