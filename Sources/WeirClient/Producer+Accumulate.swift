#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import WeirCompression
import WeirFormat
import WeirLog

// The accumulator: a record into its partition's open batch, batches from `buffer.memory`.
extension Producer {
    /// A record on its way into an accumulator: what is decided once per record.
    struct _Send {
        /// Unretained: the topic's state lives as long as the producer (see `_topicCached`).
        let topicRef: Unmanaged<_TopicState>
        var partition: Int32
        var switched: Bool
        var inTransaction: Int32 = -1
        let id: UInt64
        let timestamp: Int64
        let size: Int
        /// What the delivery handler reports for this record (`produceNow`'s `opaque`, else `id`).
        var opaque: UInt64

        var topic: _TopicState { topicRef.takeUnretainedValue() }
    }

    @inline(__always)
    func _prepare(_ record: ProducerRecord) throws(ClientError) -> _Send {
        let topic = try _checkedTopic(record.topic, size: record.estimatedSize)
        let (partition, sticky) = try _choosePartition(record, topic)
        return _send(topic, partition, sticky, size: record.estimatedSize, timestamp: record.timestamp, opaque: nil)
    }

    @inline(__always)
    func _send(_ topic: Unmanaged<_TopicState>, _ partition: Int32, _ sticky: Bool, size: Int, timestamp: Int64?, opaque: UInt64?) -> _Send {
        let id = _nextMessageID.wrappingAdd(1, ordering: .relaxed).oldValue
        let count = topic._withUnsafeGuaranteedRef { $0.partitionCount }
        return _Send(topicRef: topic, partition: partition, switched: !sticky || count < 2,
                     id: id, timestamp: timestamp ?? _recordTimestampMillis(), size: size, opaque: opaque ?? id)
    }

    /// The topic of a record of about `size` bytes, after the checks every send makes.
    @inline(__always)
    func _checkedTopic(_ name: String, size: Int) throws(ClientError) -> Unmanaged<_TopicState> {
        if _closed.load(ordering: .relaxed) {
            throw ClientError(.producerClosed, "the producer is closed; create a new one.")
        }
        let topic = try _topicCached(name)
        if size > _maxRequestSize {
            throw ClientError(.recordTooLarge, "a record of about \(size) bytes exceeds max.request.size=\(configuration.maxRequestSize); raise max.request.size or send smaller records.")
        }
        if size + 61 > _memory.total {
            throw ClientError(.recordTooLarge, "a record of about \(size) bytes exceeds buffer.memory=\(configuration.bufferMemory); raise buffer.memory.")
        }
        return topic
    }

    /// The enqueue path: `_attempt` (synchronous, no task machinery) does the work; only when a
    /// new batch needs `buffer.memory` that is not free does the caller suspend.
    func _enqueue(_ record: ProducerRecord, promise: _DeliveryPromise?) async throws(ClientError) -> UInt64 {
        var send = try _prepare(record)
        var spare: _Batch? = nil
        while try !_attempt(promise, &send, &spare, inline: false, { b, t in b._withUnsafeGuaranteedRef { _append($0, record, t) } }) {
            spare = try await _newBatch(send.topic.partitions[Int(send.partition)], recordSize: send.size)
        }
        return send.id
    }

    /// Appends the record to its partition's open batch, opening one when needed (with `spare`,
    /// or a pooled batch when `buffer.memory` has room right now). Returns false when a batch is
    /// needed and none can be had without waiting.
    ///
    /// `write` encodes the record into a batch (false when it does not fit), which it gets
    /// unretained (borrow it with `_withUnsafeGuaranteedRef`). With `inline`, a
    /// batch that is ready to go is appended to the log by the calling thread (`produceNow`)
    /// instead of a drainer task, unless `acks=all` needs the asynchronous durability wait.
    func _attempt(_ promise: _DeliveryPromise?, _ send: inout _Send, _ spare: inout _Batch?, inline: Bool,
                  _ write: (Unmanaged<RecordBatchBuilder>, Int64) -> Bool) throws(ClientError) -> Bool {
        let opaques = _hasDeliveryHandler.load(ordering: .relaxed)
        let opaque = send.opaque
        let linger = _lingerMs
        let timestamp = send.timestamp
        while true {
            // Unretained, like the topic's state that holds it: the per-record path takes no
            // reference count (`_withUnsafeGuaranteedRef` borrows without one).
            let partition = send.partition
            let accRef = send.topicRef._withUnsafeGuaranteedRef { $0._unretained[Int(partition)] }
            unowned(unsafe) let acc = accRef.takeUnretainedValue()
            if let txn = _transactions, send.inTransaction != send.partition {
                try txn.willSend(self, to: acc.topicPartition)
                send.inTransaction = send.partition
            }
            let switched = send.switched
            enum Outcome { case appended(drain: Bool, timer: Bool), needBatch(drain: Bool), switchPartition(drain: Bool) }
            let outcome: Outcome = accRef._withUnsafeGuaranteedRef { acc in acc.state._withLock { s in
                var drain = false
                if let builder = s.openBuilder {
                    let index = builder._withUnsafeGuaranteedRef { Int32($0.recordCount) }
                    if write(builder, timestamp) {
                        if promise != nil || opaques, let o = s.open {
                            if let promise { o.waiters.append((index, timestamp, promise)) }
                            if opaques { o.opaques.append(opaque) }
                        }
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
                _ = write(Unmanaged.passUnretained(b.builder), timestamp)
                if let promise { b.waiters.append((0, timestamp, promise)) }
                if opaques { b.opaques.append(opaque) }
                s.open = b
                if linger == 0 && !s.draining { drain = _PartitionAccumulator._closeOpen(&s) || drain }
                var timer = false
                if linger > 0 && !s.lingerTimerRunning { s.lingerTimerRunning = true; timer = true }
                return .appended(drain: drain, timer: timer)
            } }
            let direct = inline && !_acksAll
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

    /// `_attempt` from a thread (`produceNow`): waits for `buffer.memory` by polling
    /// (`_newBatchBlocking`) when a new batch is needed and none is free.
    @inline(__always)
    func _attemptBlocking(_ send: inout _Send, _ write: (Unmanaged<RecordBatchBuilder>, Int64) -> Bool) throws(ClientError) {
        var spare: _Batch? = nil
        while try !_attempt(nil, &send, &spare, inline: true, write) {
            spare = try _newBatchBlocking(send.topic.partitions[Int(send.partition)], recordSize: send.size)
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
}
