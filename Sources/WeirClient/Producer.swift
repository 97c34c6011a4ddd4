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
        let sticky: Atomic<Int32>
        let roundRobin: Atomic<UInt32>
        init(name: String, partitions: [_PartitionAccumulator]) {
            self.name = name
            self.partitions = partitions
            self.sticky = Atomic(Int32.random(in: 0..<Int32(partitions.count)))
            self.roundRobin = Atomic(UInt32.random(in: 0..<UInt32(partitions.count)))
        }
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
    let _reportContinuation: AsyncStream<[DeliveryReport]>.Continuation?
    let _reportsEnabled: Bool
    /// The last topic looked up (an unretained `_Topic`, kept alive by `_topics`), so that a
    /// producer sending to one topic skips the dictionary.
    let _lastTopic = Atomic<UInt>(0)
    let _reportStream: AsyncStream<[DeliveryReport]>?
    // Statistics.
    let _sent = Atomic<Int64>(0), _failed = Atomic<Int64>(0), _batches = Atomic<Int64>(0), _bytes = Atomic<Int64>(0)
    let _retries = Atomic<Int64>(0), _duplicates = Atomic<Int64>(0)
    /// Partitions whose last batch failed with a full disk after retrying for
    /// `delivery.timeout.ms`: their next batches fail at the first `noSpace` instead of each
    /// retrying for that long again, until an append succeeds (space was freed).
    let _diskFull = Mutex<Set<TopicPartition>>([]), _anyDiskFull = Atomic<Bool>(false)
    /// Producer id and epoch (-1 when not idempotent); the epoch changes with `initTransactions`.
    let _producerId = Atomic<Int64>(-1)
    let _producerEpoch = Atomic<Int16>(-1)
    let _idempotent: Bool
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
        self._reportsEnabled = configuration.deliveryReportsEnabled
        if configuration.deliveryReportsEnabled {
            let (stream, continuation) = AsyncStream<[DeliveryReport]>.makeStream(bufferingPolicy: .unbounded)
            _reportStream = stream
            _reportContinuation = continuation
        } else {
            _reportStream = nil
            _reportContinuation = nil
        }
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
                           retries: _retries.load(ordering: .relaxed), duplicatesSuppressed: _duplicates.load(ordering: .relaxed))
    }

    /// The delivery reports of records sent with `produce`, in batches' completion order
    /// (needs `deliveryReportsEnabled`; empty otherwise). Ends when the producer closes.
    public var deliveryReports: DeliveryReports { DeliveryReports(stream: _reportStream) }

    // MARK: - Topics

    @inline(__always)
    func _topicCached(_ name: String) throws(ClientError) -> _Topic {
        let bits = _lastTopic.load(ordering: .acquiring)
        if bits != 0 {
            let t = Unmanaged<_Topic>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue()
            if t.state.name == name && t.acl._generation.load(ordering: .acquiring) == t.aclGeneration { return t }
        }
        let t = try _topic(name)
        _lastTopic.store(UInt(bitPattern: Unmanaged.passUnretained(t).toOpaque()), ordering: .releasing)
        return t
    }

    func _topic(_ name: String) throws(ClientError) -> _Topic {
        if let t = _topics._withLock({ $0[name] }) { return try _writeRechecked(t) }
        let (acl, generation) = try _authorizeWrite(name)
        var count: Int
        do {
            count = try logDirectory.partitionCount(name)
        } catch {
            guard error.code == .unknownTopicOrPartition else { throw ClientError(error) }
            guard configuration.allowAutoCreateTopics else {
                throw ClientError(.unknownTopicOrPartition, "topic '\(name)' does not exist; create it first (weir topics create \(name) --partitions N) or set allow.auto.create.topics=true.", logError: error)
            }
            do {
                try logDirectory.createTopic(name, partitions: 1)
            } catch where error.code == .topicAlreadyExists {
            } catch {
                throw ClientError(error)
            }
            count = 1
        }
        let topicConfig: LogConfig
        do { topicConfig = try logDirectory.topicConfig(name) } catch { throw ClientError(error) }
        var codec = configuration.compressionType
        switch topicConfig.compressionType {
        case .producer: break
        case .uncompressed: codec = .none
        case .gzip: codec = .gzip
        case .snappy: codec = .snappy
        case .lz4: codec = .lz4
        case .zstd: codec = .zstd
        }
        let limit = max(0, min(configuration.batchSize, configuration.maxRequestSize, topicConfig.maxMessageBytes))
        var accs: [_PartitionAccumulator] = []
        for p in 0..<Int32(count) {
            let log: PartitionLog
            do { log = try logDirectory.partition(name, p) } catch { throw ClientError(error) }
            accs.append(_PartitionAccumulator(topicPartition: TopicPartition(name, p), log: log, codec: codec, batchLimit: limit))
        }
        let topic = _Topic(_TopicState(name: name, partitions: accs), acl: acl, aclGeneration: generation)
        return _topics._withLock { t in
            if let existing = t[name] { return existing }
            t[name] = topic
            return topic
        }
    }

    /// The partition count of a topic (Kafka's `partitionsFor(topic).size()`).
    public func partitionCount(_ topic: String) throws(ClientError) -> Int {
        try _topic(topic).state.partitions.count
    }

    @inline(__always)
    func _choosePartition(_ record: ProducerRecord, _ t: _TopicState) throws(ClientError) -> (Int32, sticky: Bool) {
        if record.partition == nil, let key = record.key, configuration.partitioner == .default, !configuration.partitionerIgnoreKeys {
            return (key.withUnsafeBytes { kafkaDefaultPartition(forKey: $0, partitionCount: Int32(t.partitions.count)) }, false)
        }
        return try _choosePartition(record.partition, nil, t)
    }

    @inline(__always)
    func _choosePartition(_ partition: Int32?, _ key: UnsafeRawBufferPointer?, _ t: _TopicState) throws(ClientError) -> (Int32, sticky: Bool) {
        let n = Int32(t.partitions.count)
        if let p = partition {
            guard p >= 0 && p < n else {
                throw ClientError(.unknownTopicOrPartition, "partition \(p) of topic '\(t.name)' does not exist; it has \(n) partitions (0...\(n - 1)).")
            }
            return (p, false)
        }
        switch configuration.partitioner {
        case .roundRobin:
            let i = t.roundRobin.wrappingAdd(1, ordering: .relaxed).oldValue
            return (Int32(i % UInt32(n)), false)
        case .default:
            if let key, !configuration.partitionerIgnoreKeys {
                return (kafkaDefaultPartition(forKey: key, partitionCount: n), false)
            }
            return (t.sticky.load(ordering: .relaxed), true)
        }
    }

    // MARK: - Sending

    /// Sends a record and waits for its acknowledgement (`acks`).
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
    /// `produce`). The outcome appears on `deliveryReports` (when `deliveryReportsEnabled`) and in
    /// `statistics`; `flush()` waits for it.
    ///
    /// Suspends only while `buffer.memory` is full (up to `max.block.ms`).
    /// - Returns: the record's id, as found in its `DeliveryReport`.
    @discardableResult
    nonisolated(nonsending) public func produce(_ record: ProducerRecord) async throws(ClientError) -> UInt64 {
        var send = try _prepare(record)
        var spare: _Batch? = nil
        while try !_attempt(nil, &send, &spare, inline: false, { b, t in _append(b, record, t) }) {
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
    /// `onDelivery` handler (with `opaque`, librdkafka's `msg_opaque`), to `deliveryReports` when
    /// enabled, and to `statistics`; `flush()` waits for it.
    ///
    /// Blocks the calling thread (polling every 50 µs) while `buffer.memory` is full, up to
    /// `max.block.ms`. Call it from your own threads, not from an async task.
    ///
    /// - Returns: the record's id, as found in its `DeliveryReport`.
    /// - Throws: `.producerClosed`, `.unknownTopicOrPartition`, `.recordTooLarge`,
    ///   `.bufferExhausted` (retriable) after `max.block.ms`, `.producerFenced` and the other
    ///   transaction errors.
    @discardableResult
    public func produceNow(topic: String, partition: Int32? = nil, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                           headers: [RecordHeader] = [], timestamp: Int64? = nil, opaque: UInt64 = 0) throws(ClientError) -> UInt64 {
        var size = 21 + (key?.count ?? 0) + (value?.count ?? 0)
        for h in headers { size += 10 + h.key.utf8.count + (h.value?.count ?? 0) }
        let t = try _checkedTopic(topic, size: size)
        let (p, sticky) = try _choosePartition(partition, key, t)
        var send = _send(t, p, sticky, size: size, timestamp: timestamp, opaque: opaque)
        var spare: _Batch? = nil
        let write: (RecordBatchBuilder, Int64) -> Bool = headers.isEmpty
            ? { b, ts in b.append(timestamp: ts, key: key, value: value) }
            : { b, ts in b.append(timestamp: ts, key: key, value: value, headers: headers) }
        while try !_attempt(nil, &send, &spare, inline: true, write) {
            spare = try _newBatchBlocking(send.topic.partitions[Int(send.partition)], recordSize: send.size)
        }
        return send.id
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

    /// A record on its way into an accumulator: what is decided once per record.
    struct _Send {
        let topic: _TopicState
        var partition: Int32
        var switched: Bool
        var inTransaction: Int32 = -1
        let id: UInt64
        let timestamp: Int64
        let size: Int
        /// What the delivery handler reports for this record (`produceNow`'s `opaque`, else `id`).
        var opaque: UInt64
    }

    @inline(__always)
    func _prepare(_ record: ProducerRecord) throws(ClientError) -> _Send {
        let topic = try _checkedTopic(record.topic, size: record.estimatedSize)
        let (partition, sticky) = try _choosePartition(record, topic)
        return _send(topic, partition, sticky, size: record.estimatedSize, timestamp: record.timestamp, opaque: nil)
    }

    @inline(__always)
    func _send(_ topic: _TopicState, _ partition: Int32, _ sticky: Bool, size: Int, timestamp: Int64?, opaque: UInt64?) -> _Send {
        let id = _nextMessageID.wrappingAdd(1, ordering: .relaxed).oldValue
        return _Send(topic: topic, partition: partition, switched: !sticky || topic.partitions.count < 2,
                     id: id, timestamp: timestamp ?? _wallMillis(), size: size, opaque: opaque ?? id)
    }

    /// The topic of a record of about `size` bytes, after the checks every send makes.
    @inline(__always)
    func _checkedTopic(_ name: String, size: Int) throws(ClientError) -> _TopicState {
        if _closed.load(ordering: .relaxed) {
            throw ClientError(.producerClosed, "the producer is closed; create a new one.")
        }
        let topic = try _topicCached(name).state
        if size > configuration.maxRequestSize {
            throw ClientError(.recordTooLarge, "a record of about \(size) bytes exceeds max.request.size=\(configuration.maxRequestSize); raise max.request.size or send smaller records.")
        }
        if size + 61 > configuration.bufferMemory {
            throw ClientError(.recordTooLarge, "a record of about \(size) bytes exceeds buffer.memory=\(configuration.bufferMemory); raise buffer.memory.")
        }
        return topic
    }

    /// The enqueue path: `_attempt` (synchronous, no task machinery) does the work; only when a
    /// new batch needs `buffer.memory` that is not free does the caller suspend.
    func _enqueue(_ record: ProducerRecord, promise: _DeliveryPromise?) async throws(ClientError) -> UInt64 {
        var send = try _prepare(record)
        var spare: _Batch? = nil
        while try !_attempt(promise, &send, &spare, inline: false, { b, t in _append(b, record, t) }) {
            spare = try await _newBatch(send.topic.partitions[Int(send.partition)], recordSize: send.size)
        }
        return send.id
    }

    /// Appends the record to its partition's open batch, opening one when needed (with `spare`,
    /// or a pooled batch when `buffer.memory` has room right now). Returns false when a batch is
    /// needed and none can be had without waiting.
    ///
    /// `write` encodes the record into a batch (false when it does not fit). With `inline`, a
    /// batch that is ready to go is appended to the log by the calling thread (`produceNow`)
    /// instead of a drainer task, unless `acks=all` needs the asynchronous durability wait.
    func _attempt(_ promise: _DeliveryPromise?, _ send: inout _Send, _ spare: inout _Batch?, inline: Bool,
                  _ write: (RecordBatchBuilder, Int64) -> Bool) throws(ClientError) -> Bool {
        let reports = _reportsEnabled
        let opaques = _hasDeliveryHandler.load(ordering: .relaxed)
        let opaque = send.opaque
        let linger = configuration.lingerMs
        let timestamp = send.timestamp
        let id = send.id
        while true {
            let acc = send.topic.partitions[Int(send.partition)]
            if let txn = _transactions, send.inTransaction != send.partition {
                try txn.willSend(self, to: acc.topicPartition)
                send.inTransaction = send.partition
            }
            let switched = send.switched
            enum Outcome { case appended(drain: Bool, timer: Bool), needBatch(drain: Bool), switchPartition(drain: Bool) }
            let outcome: Outcome = acc.state._withLock { s in
                var drain = false
                if let o = s.open {
                    let index = Int32(o.builder.recordCount)
                    if write(o.builder, timestamp) {
                        if let promise { o.waiters.append((index, timestamp, promise)) }
                        if reports { o.messageIDs.append(id); o.timestamps.append(timestamp) }
                        if opaques { o.opaques.append(opaque) }
                        if linger == 0 && !s.draining { drain = _PartitionAccumulator._closeOpen(&s) }
                        return .appended(drain: drain, timer: false)
                    }
                    drain = _PartitionAccumulator._closeOpen(&s)
                }
                // KIP-480: a null-key record that needs a new batch on the sticky partition moves
                // the sticky partition on (once per record) and goes there.
                if !switched { return .switchPartition(drain: drain) }
                guard let b = spare else { return .needBatch(drain: drain) }
                spare = nil
                b.id = s.nextBatchID
                s.nextBatchID += 1
                b.createdNanos = _monotonicNanos()
                _ = write(b.builder, timestamp)
                if let promise { b.waiters.append((0, timestamp, promise)) }
                if reports { b.messageIDs.append(id); b.timestamps.append(timestamp) }
                if opaques { b.opaques.append(opaque) }
                s.open = b
                if linger == 0 && !s.draining { drain = _PartitionAccumulator._closeOpen(&s) || drain }
                var timer = false
                if linger > 0 && !s.lingerTimerRunning { s.lingerTimerRunning = true; timer = true }
                return .appended(drain: drain, timer: timer)
            }
            let direct = inline && configuration.acks != .all
            switch outcome {
            case .switchPartition(let drain):
                if drain { direct ? _drainInline(acc) : _startDrainer(acc) }
                let topic = send.topic
                let n = Int32(topic.partitions.count)
                var next = Int32.random(in: 0..<(n - 1))
                if next >= send.partition { next += 1 }
                _ = topic.sticky.compareExchange(expected: send.partition, desired: next, ordering: .relaxed)
                send.partition = topic.sticky.load(ordering: .relaxed)
                send.switched = true
            case .needBatch(let drain):
                if drain { direct ? _drainInline(acc) : _startDrainer(acc) }
                guard let b = try _tryNewBatch(acc, recordSize: send.size) else { return false }
                spare = b
            case .appended(let drain, let timer):
                if drain { direct ? _drainInline(acc) : _startDrainer(acc) }
                if timer { _startLingerTimer(acc) }
                if let b = spare {
                    spare = nil
                    _recycle(b, acc)
                }
                return true
            }
        }
    }

    @inline(__always)
    func _append(_ builder: RecordBatchBuilder, _ r: borrowing ProducerRecord, _ timestamp: Int64) -> Bool {
        switch (r.key, r.value) {
        case (nil, nil):
            return r.headers.isEmpty ? builder.append(timestamp: timestamp, key: nil, value: nil)
                : builder.append(timestamp: timestamp, key: nil, value: nil, headers: r.headers)
        case (nil, let v?):
            return v.withUnsafeBytes { v in
                r.headers.isEmpty ? builder.append(timestamp: timestamp, key: nil, value: v)
                    : builder.append(timestamp: timestamp, key: nil, value: v, headers: r.headers)
            }
        case (let k?, nil):
            return k.withUnsafeBytes { k in
                r.headers.isEmpty ? builder.append(timestamp: timestamp, key: k, value: nil)
                    : builder.append(timestamp: timestamp, key: k, value: nil, headers: r.headers)
            }
        case (let k?, let v?):
            return k.withUnsafeBytes { k in
                v.withUnsafeBytes { v in
                    r.headers.isEmpty ? builder.append(timestamp: timestamp, key: k, value: v)
                        : builder.append(timestamp: timestamp, key: k, value: v, headers: r.headers)
                }
            }
        }
    }

    /// A batch for `acc` when `buffer.memory` has room now, nil otherwise.
    func _tryNewBatch(_ acc: _PartitionAccumulator, recordSize: Int) throws(ClientError) -> _Batch? {
        let bytes = max(configuration.batchSize, recordSize + 61)
        guard _memory.tryReserve(bytes) else { return nil }
        return try _makeBatch(acc, reserved: bytes)
    }

    /// A batch for `acc`: from the pool when one is free, reserving `batch.size` (or the record's
    /// size) of `buffer.memory`, waiting up to `max.block.ms`.
    func _newBatch(_ acc: _PartitionAccumulator, recordSize: Int) async throws(ClientError) -> _Batch {
        let bytes = max(configuration.batchSize, recordSize + 61)
        if !(await _memory.reserve(bytes, maxBlockMs: configuration.maxBlockMs)) {
            throw ClientError(.bufferExhausted, "buffer.memory=\(configuration.bufferMemory) stayed full for max.block.ms=\(configuration.maxBlockMs) ms: records are produced faster than the log takes them. Raise buffer.memory or max.block.ms, or slow down.", isRetriable: true)
        }
        return try _makeBatch(acc, reserved: bytes)
    }

    func _makeBatch(_ acc: _PartitionAccumulator, reserved bytes: Int) throws(ClientError) -> _Batch {
        let pooled = _pools._withLock { p -> _Batch? in p[Int(acc.codec.rawValue)].popLast() }
        let batch: _Batch
        if let pooled {
            batch = pooled
            batch.builder.batchSizeLimit = acc.batchLimit
        } else {
            do {
                let b = try RecordBatchBuilder(codec: acc.codec, compressionLevel: configuration.compressionLevel(for: acc.codec),
                                               batchSizeLimit: acc.batchLimit)
                batch = _Batch(builder: b)
            } catch {
                _memory.release(bytes)
                throw ClientError(.invalidConfig, "cannot create a \(acc.codec) batch: \(error.message)")
            }
        }
        batch.reserved = bytes
        return batch
    }

    func _recycle(_ batch: _Batch, _ acc: _PartitionAccumulator) {
        _memory.release(batch.reserved)
        batch.reserved = 0
        batch.recycle()
        _pools._withLock { p in
            if p[Int(acc.codec.rawValue)].count < 64 { p[Int(acc.codec.rawValue)].append(batch) }
        }
    }

    func _startDrainer(_ acc: _PartitionAccumulator) {
        Task.detached { [self] in await _drain(acc) }
    }

    func _startLingerTimer(_ acc: _PartitionAccumulator) {
        let lingerNanos = configuration.lingerMs * 1_000_000
        Task.detached { [self] in
            var wait = lingerNanos
            while true {
                try? await Task.sleep(for: .nanoseconds(wait))
                let (next, drain): (Int64?, Bool) = acc.state._withLock { s in
                    guard let o = s.open else {
                        s.lingerTimerRunning = false
                        return (nil, false)
                    }
                    let age = _monotonicNanos() - o.createdNanos
                    if age >= lingerNanos {
                        let d = _PartitionAccumulator._closeOpen(&s)
                        s.lingerTimerRunning = false
                        return (nil, d)
                    }
                    return (lingerNanos - age, false)
                }
                if drain { _startDrainer(acc) }
                guard let next else { return }
                wait = next
            }
        }
    }

    /// The drainer of one partition: sends ready batches in order until none is left.
    ///
    /// - Parameter first: a batch the inline drainer sealed and failed to append with a
    ///   retriable error; it goes first (with retries), then the ready queue.
    func _drain(_ acc: _PartitionAccumulator, first: _Batch? = nil) async {
        let linger = configuration.lingerMs * 1_000_000
        var unacknowledged: [(_Batch, AppendResult)] = []
        var resumed = first
        while true {
            if let batch = resumed {
                resumed = nil
                _complete(batch, acc, await _sendBatch(batch, acc, sealed: true))
                continue
            }
            let next: _Batch? = acc.state._withLock { s in
                if !s.ready.isEmpty { return s.ready.removeFirst() }
                if let o = s.open, _monotonicNanos() - o.createdNanos >= linger {
                    s.open = nil
                    return o
                }
                if unacknowledged.isEmpty { s.draining = false }
                return nil
            }
            guard let batch = next else {
                if unacknowledged.isEmpty { return }
                await _acknowledge(&unacknowledged, acc)
                continue
            }
            switch await _sendBatch(batch, acc) {
            case .success(let r):
                if configuration.acks == .all && !r.isDuplicate {
                    unacknowledged.append((batch, r))
                    if unacknowledged.count >= configuration.maxInFlightRequestsPerConnection { await _acknowledge(&unacknowledged, acc) }
                } else {
                    if !unacknowledged.isEmpty { await _acknowledge(&unacknowledged, acc) }
                    _complete(batch, acc, .success(r))
                }
            case .failure(let e):
                if !unacknowledged.isEmpty { await _acknowledge(&unacknowledged, acc) }
                _complete(batch, acc, .failure(e))
            }
        }
    }

    /// `acks=all`: one wait for the durability of the last appended batch covers them all.
    func _acknowledge(_ pending: inout [(_Batch, AppendResult)], _ acc: _PartitionAccumulator) async {
        guard let last = pending.last else { return }
        var failure: ClientError? = nil
        do { try await acc.log.waitUntilDurable(last.1.lastOffset + 1) } catch { failure = ClientError(error) }
        for (b, r) in pending { _complete(b, acc, failure.map { .failure($0) } ?? .success(r)) }
        pending.removeAll()
    }

    /// Seals a batch for its append (producer id, epoch and sequence with idempotence).
    func _seal(_ batch: _Batch, _ acc: _PartitionAccumulator) -> ClientError? {
        let builder = batch.builder
        if _idempotent {
            builder.producerId = _producerId.load(ordering: .relaxed)
            builder.producerEpoch = _producerEpoch.load(ordering: .relaxed)
            builder.baseSequence = acc.nextSequence.load(ordering: .relaxed)
            builder.isTransactional = _transactions != nil
        }
        do { try builder.seal() } catch {
            return ClientError(.log, "sealing a \(acc.codec) batch for \(acc.topicPartition) failed: \(error.message)")
        }
        return nil
    }

    /// One append of a sealed batch; on success, advances the sequence and the counters.
    /// With `deferWake`, readers waiting for data are woken by a later `_wakeReaders()`.
    func _appendOnce(_ batch: _Batch, _ acc: _PartitionAccumulator, deferWake: Bool = false) -> Result<AppendResult, LogError> {
        let builder = batch.builder
        let failEvery = _injectAppendFailureEvery.load(ordering: .relaxed)
        if failEvery > 0, _appendCount.wrappingAdd(1, ordering: .relaxed).newValue % failEvery == 0 { return .failure(LogError(.io, "injected: the append failed", isRetriable: true)) }
        let result: Result<AppendResult, LogError> = builder.withUnsafeSealedBytes { bytes in
            do throws(LogError) {
                return .success(deferWake ? try acc.log._appendDeferringWake(bytes) : try acc.log.append(bytes, verifyChecksums: false))
            } catch { return .failure(error) }
        }
        let every = _injectLostAcknowledgementEvery.load(ordering: .relaxed)
        if every > 0, case .success = result, _appendCount.wrappingAdd(1, ordering: .relaxed).newValue % every == 0 {
            return .failure(LogError(.io, "injected: the acknowledgement was lost", isRetriable: true))
        }
        if case .success(let r) = result {
            if r.isDuplicate { _duplicates.add(1, ordering: .relaxed) }
            if _idempotent {
                let next = Int64(builder.baseSequence) + Int64(builder.recordCount)
                acc.nextSequence.store(Int32(truncatingIfNeeded: next > Int64(Int32.max) ? next - Int64(Int32.max) - 1 : next), ordering: .relaxed)
            }
            if !r.isDuplicate {
                _batches.add(1, ordering: .relaxed)
                _bytes.add(Int64(builder.withUnsafeSealedBytes { $0.count }), ordering: .relaxed)
            }
        }
        return result
    }

    /// The inline drainer (`produceNow`): the calling thread appends the partition's ready
    /// batches itself, in order, as the one drainer; a retriable failure hands the rest to a
    /// drainer task, which retries with backoff.
    func _drainInline(_ acc: _PartitionAccumulator) {
        let linger = configuration.lingerMs * 1_000_000
        // Readers are woken once, after the batches are appended and their reports delivered
        // (see `PartitionLog._appendDeferringWake`).
        var appended = false
        defer { if appended { acc.log._wakeReaders() } }
        while true {
            let next: _Batch? = acc.state._withLock { s in
                if !s.ready.isEmpty { return s.ready.removeFirst() }
                if let o = s.open, _monotonicNanos() - o.createdNanos >= linger {
                    s.open = nil
                    return o
                }
                s.draining = false
                return nil
            }
            guard let batch = next else { return }
            if let e = _seal(batch, acc) {
                _complete(batch, acc, .failure(e))
                continue
            }
            switch _appendOnce(batch, acc, deferWake: true) {
            case .success(let r):
                appended = true
                _complete(batch, acc, .success(r))
            case .failure(let e) where e.isRetriable && configuration.retries > 0:
                _retries.add(1, ordering: .relaxed)
                Task.detached { [self] in await _drain(acc, first: batch) }
                return
            case .failure(let e):
                _complete(batch, acc, .failure(ClientError(e)))
            }
        }
    }

    /// Seals and appends one batch, retrying retriable failures within `delivery.timeout.ms`.
    func _sendBatch(_ batch: _Batch, _ acc: _PartitionAccumulator, sealed: Bool = false) async -> Result<AppendResult, ClientError> {
        let builder = batch.builder
        let count = Int32(builder.recordCount)
        if !sealed, let e = _seal(batch, acc) { return .failure(e) }
        let deadline = batch.createdNanos + configuration.deliveryTimeoutMs * 1_000_000
        var attempt = sealed ? 1 : 0
        var backoff = configuration.retryBackoffMs
        if sealed && configuration.retryBackoffMs > 0 {
            // The inline drainer's attempt failed just now: back off before the first retry.
            try? await Task.sleep(for: .milliseconds(configuration.retryBackoffMs))
        }
        while true {
            switch _appendOnce(batch, acc) {
            case .success(let r):
                if _anyDiskFull.load(ordering: .relaxed) { _setDiskFull(acc.topicPartition, false) }
                return .success(r)
            case .failure(let e):
                attempt += 1
                let now = _monotonicNanos()
                if e.code == .noSpace && (now >= deadline || _isDiskFull(acc.topicPartition)) {
                    // A full disk: every waiting batch gets the retriable `noSpace` itself, within
                    // delivery.timeout.ms; later batches fail fast until space is freed.
                    _setDiskFull(acc.topicPartition, true)
                    return .failure(ClientError(e))
                }
                if e.isRetriable && attempt <= configuration.retries && now < deadline {
                    _retries.add(1, ordering: .relaxed)
                    if backoff > 0 { try? await Task.sleep(for: .milliseconds(min(backoff, max(0, (deadline - now) / 1_000_000)))) }
                    backoff = min(backoff * 2, max(configuration.retryBackoffMaxMs, configuration.retryBackoffMs))
                    continue
                }
                if e.isRetriable && now >= deadline {
                    return .failure(ClientError(.deliveryTimeout, "\(count) records for \(acc.topicPartition) were not acknowledged within delivery.timeout.ms=\(configuration.deliveryTimeoutMs) (last error: \(e.message)).", isRetriable: true, logError: e))
                }
                return .failure(ClientError(e))
            }
        }
    }

    func _isDiskFull(_ tp: TopicPartition) -> Bool {
        _anyDiskFull.load(ordering: .relaxed) && _diskFull._withLock { $0.contains(tp) }
    }

    func _setDiskFull(_ tp: TopicPartition, _ full: Bool) {
        _diskFull._withLock { set in
            if full { set.insert(tp) } else { set.remove(tp) }
            _anyDiskFull.store(!set.isEmpty, ordering: .relaxed)
        }
    }

    /// Resolves a batch's waiters and delivery reports, releases its memory and recycles it.
    func _complete(_ batch: _Batch, _ acc: _PartitionAccumulator, _ result: Result<AppendResult, ClientError>) {
        let tp = acc.topicPartition
        let count = Int64(batch.builder.recordCount)
        switch result {
        case .success(let r):
            _sent.add(count, ordering: .relaxed)
            for w in batch.waiters {
                w.promise.fulfill(.success(RecordMetadata(topic: tp.topic, partition: tp.partition, offset: r.baseOffset + Int64(w.index), timestamp: w.timestamp)))
            }
            if let reports = _reportContinuation {
                var out: [DeliveryReport] = []
                out.reserveCapacity(batch.messageIDs.count)
                for (i, id) in batch.messageIDs.enumerated() {
                    out.append(DeliveryReport(id: id, topic: tp.topic, partition: tp.partition,
                                              result: .success(RecordMetadata(topic: tp.topic, partition: tp.partition, offset: r.baseOffset + Int64(i), timestamp: batch.timestamps[i]))))
                }
                reports.yield(out)
            }
        case .failure(let e):
            _failed.add(count, ordering: .relaxed)
            _transactions?.recordFailure(e)
            for w in batch.waiters { w.promise.fulfill(.failure(e)) }
            if let reports = _reportContinuation {
                reports.yield(batch.messageIDs.map { DeliveryReport(id: $0, topic: tp.topic, partition: tp.partition, result: .failure(e)) })
            }
        }
        if _hasDeliveryHandler.load(ordering: .relaxed), let handler = _deliveryHandler._withLock({ $0 })?.body {
            let report: DeliveryBatchReport
            switch result {
            case .success(let r): report = DeliveryBatchReport(topicPartition: tp, result: .success(r.baseOffset), opaques: batch.opaques)
            case .failure(let e): report = DeliveryBatchReport(topicPartition: tp, result: .failure(e), opaques: batch.opaques)
            }
            handler(report)
        }
        let id = batch.id
        _recycle(batch, acc)
        acc._completed(id)
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

    /// Stops accepting records, sends and waits for everything buffered, and ends
    /// `deliveryReports`. Kafka's `close()`. Idempotent.
    public func close() async {
        if _closed.exchange(true, ordering: .acquiringAndReleasing) { return }
        await flush()
        _reportContinuation?.finish()
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

/// The delivery reports of a producer, one at a time (they arrive in batches internally).
public struct DeliveryReports: AsyncSequence, Sendable {
    public typealias Element = DeliveryReport
    let stream: AsyncStream<[DeliveryReport]>?

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<[DeliveryReport]>.AsyncIterator?
        var buffer: [DeliveryReport] = []
        var index = 0

        public mutating func next() async -> DeliveryReport? {
            while index >= buffer.count {
                guard var b = base, let more = await b.next() else { return nil }
                base = b
                buffer = more
                index = 0
            }
            defer { index += 1 }
            return buffer[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: stream?.makeAsyncIterator()) }
}
