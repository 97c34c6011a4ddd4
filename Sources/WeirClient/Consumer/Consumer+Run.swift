public import WeirLog
import Synchronization

/// What an `eachMessage` handler can do besides reading the message (KafkaJS's payload).
public struct EachMessageContext: Sendable {
    let consumer: Consumer
    public let topicPartition: TopicPartition
    let progress: _Progress
    /// Sends a heartbeat now (for a handler that runs long).
    public func heartbeat() { consumer.heartbeat() }
    /// Pauses this message's partition; the run loop stops fetching it after this message.
    public func pause() { try? consumer.pause([topicPartition]) }
    /// Commits processed offsets if `auto.commit.interval.ms` has passed.
    public func commitOffsetsIfNecessary() throws(ClientError) {
        progress.flush(consumer)
        try consumer.commitOffsetsIfNecessary()
    }
}

/// The last record an `eachMessage` loop finished, published to the consumer's state in bulk
/// (at the end of the batch, before a commit) rather than per record.
final class _Progress: Sendable {
    let tp: TopicPartition
    let epoch: UInt64
    let last = Atomic<Int64>(-1)
    init(_ tp: TopicPartition, _ epoch: UInt64) { self.tp = tp; self.epoch = epoch }
    func flush(_ consumer: Consumer) {
        let o = last.load(ordering: .relaxed)
        if o >= 0 { consumer._markProcessed(tp, offset: o, epoch: epoch) }
    }
}

/// What an `eachBatch` handler can do (KafkaJS's `eachBatch` payload).
public struct EachBatchContext: Sendable {
    let consumer: Consumer
    public let topicPartition: TopicPartition
    let epoch: UInt64
    let resolved: _Box

    final class _Box: Sendable {
        let value = Mutex<Int64?>(nil)
    }

    /// Marks `offset` processed: `offset + 1` is committed next (KafkaJS's `resolveOffset`).
    public func resolveOffset(_ offset: Int64) {
        resolved.value._withLock { if ($0 ?? -1) < offset { $0 = offset } }
        consumer._markProcessed(topicPartition, offset: offset, epoch: epoch)
    }
    /// Sends a heartbeat now.
    public func heartbeat() { consumer.heartbeat() }
    /// Commits processed offsets if `auto.commit.interval.ms` has passed.
    public func commitOffsetsIfNecessary() throws(ClientError) { try consumer.commitOffsetsIfNecessary() }
    /// The offsets processed and not yet committed.
    public func uncommittedOffsets() -> [TopicPartition: Int64] {
        consumer._state._withLock { st in
            st.partitions.compactMapValues { $0.consumed }.filter { st.lastCommitted[$0.key] != $0.value }
        }
    }
    /// False once the consumer is stopped or closed.
    public func isRunning() -> Bool { consumer._state._withLock { $0.running && !$0.closed } }
    /// True when the partition was revoked or seeked since the batch was fetched: stop
    /// processing it, its records will be delivered again (to this consumer or another).
    public func isStale() -> Bool {
        consumer._state._withLock { st in st.partitions[topicPartition]?.epoch != epoch }
    }
    /// Pauses this partition.
    public func pause() { try? consumer.pause([topicPartition]) }
}

extension Consumer {
    /// Runs `eachMessage` for every record until `stop()`, `close()` or task cancellation
    /// (KafkaJS's `consumer.run({ eachMessage })`).
    ///
    /// A record is processed when the handler returns: its `offset + 1` is what the next commit
    /// stores. When the handler throws, the partition is rewound to that record (it is delivered
    /// again by the next `run` or `poll`), processed offsets are committed with
    /// `enable.auto.commit`, and the error is rethrown.
    ///
    /// - Parameter partitionsConsumedConcurrently: how many partitions are handled in parallel
    ///   (records of one partition always in order, one at a time).
    public func run(partitionsConsumedConcurrently: Int = 1,
                    eachMessage: @escaping @Sendable (ConsumerMessage, EachMessageContext) async throws -> Void) async throws {
        try await _run(partitionsConsumedConcurrently) { batch, epoch in
            let tp = batch.topicPartition
            let progress = _Progress(tp, epoch)
            let context = EachMessageContext(consumer: self, topicPartition: tp, progress: progress)
            defer { progress.flush(self) }
            let revision = self._revision.load(ordering: .acquiring)
            for message in batch {
                if self._revision.load(ordering: .acquiring) != revision {
                    // A seek, pause, stop or rebalance happened: look closer.
                    let (stale, paused) = self._state._withLock { st in
                        (st.partitions[tp]?.epoch != epoch || !st.running, st.partitions[tp]?.paused ?? true)
                    }
                    if stale { return }
                    if paused {
                        // Paused from inside the handler: the next fetch after resume starts here.
                        progress.flush(self)
                        try? self.seek(tp, to: message.offset)
                        try? self.pause([tp])
                        return
                    }
                }
                do {
                    try await eachMessage(message, context)
                } catch {
                    throw _HandlerFailure(tp: tp, offset: message.offset, error: error)
                }
                progress.last.store(message.offset, ordering: .relaxed)
            }
        }
    }

    /// Runs `eachBatch` for every partition's fetched records until `stop()`, `close()` or task
    /// cancellation (KafkaJS's `consumer.run({ eachBatch })`).
    ///
    /// Each call receives one partition's records, at most `max.poll.records` of them: a fetch
    /// (bounded by `max.partition.fetch.bytes` and `fetch.max.bytes`) with more records is handed
    /// over in several calls, in order. A `stop()`, seek, pause or rebalance between two calls
    /// ends the fetch there; its remaining records are fetched again.
    ///
    /// With `eachBatchAutoResolve` (default true) the whole batch counts as processed when the
    /// handler returns; otherwise only what the handler passed to `resolveOffset`. On a throw the
    /// partition is rewound to the first unresolved record.
    public func run(partitionsConsumedConcurrently: Int = 1, eachBatchAutoResolve: Bool = true,
                    eachBatch: @escaping @Sendable (ConsumerBatch, EachBatchContext) async throws -> Void) async throws {
        try await _run(partitionsConsumedConcurrently, split: true) { batch, epoch in
            let context = EachBatchContext(consumer: self, topicPartition: batch.topicPartition, epoch: epoch, resolved: EachBatchContext._Box())
            do {
                try await eachBatch(batch, context)
            } catch {
                let resolved = context.resolved.value._withLock { $0 }
                throw _HandlerFailure(tp: batch.topicPartition, offset: resolved.map { $0 + 1 } ?? batch.firstOffset ?? batch.nextOffset, error: error)
            }
            if eachBatchAutoResolve, let last = batch.lastOffset { self._markProcessed(batch.topicPartition, offset: last, epoch: epoch) }
        }
    }

    /// Stops a `run` loop after the batches in progress (the consumer stays usable).
    public func stop() {
        _state._withLock { $0.running = false }
        _revision.add(1, ordering: .releasing)
    }

    struct _HandlerFailure: Error {
        var tp: TopicPartition
        var offset: Int64
        var error: any Error
    }

    /// The run loop. With `split`, a poll fetches whatever the byte limits allow and each
    /// partition's records go to `handle` in pieces of at most `max.poll.records`.
    func _run(_ concurrency: Int, split: Bool = false, _ handle: @escaping @Sendable (ConsumerBatch, UInt64) async throws -> Void) async throws {
        try _state._withLock { (st) throws(ClientError) in
            if st.closed { throw Self._closedError }
            st.running = true
        }
        defer { _state._withLock { $0.running = false } }
        let wait = Duration.milliseconds(max(1, configuration.fetchMaxWaitMs))
        while _state._withLock({ $0.running && !$0.closed }) && !Task.isCancelled {
            let polled = await _pollResult(timeout: wait, maxRecords: split ? Int.max : nil, delivery: true)
            let batches: [ConsumerBatch]
            switch polled {
            case .success(let b): batches = b
            case .failure(let e):
                if e.code == .cancelled || e.code == .consumerClosed { return }
                throw e
            }
            if batches.isEmpty { continue }
            // The delivery started by the poll ends when the handlers are done (close waits for it).
            defer { _endActivity() }
            let epochs = _state._withLock { st in batches.map { st.partitions[$0.topicPartition]?.epoch ?? 0 } }
            do {
                try await _RunContext.$consumer.withValue(ObjectIdentifier(self)) {
                if concurrency <= 1 || batches.count == 1 {
                    for (b, e) in zip(batches, epochs) { try await _handle(b, e, split: split, handle) }
                } else {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        var next = 0
                        func add() {
                            let b = batches[next], e = epochs[next]
                            group.addTask { try await self._handle(b, e, split: split, handle) }
                            next += 1
                        }
                        while next < min(concurrency, batches.count) { add() }
                        while try await group.next() != nil {
                            if next < batches.count { add() }
                        }
                    }
                }
                }
            } catch let failure as _HandlerFailure {
                _rewind(batches, epochs, failed: failure)
                if configuration.enableAutoCommit { try? commit() }
                throw failure.error
            }
            try? _maybeAutoCommit()
        }
    }

    func _pollResult(timeout: Duration, maxRecords: Int? = nil, delivery: Bool = false) async -> Result<[ConsumerBatch], ClientError> {
        do { return .success(try await _pollBatches(timeout: timeout, maxRecords: maxRecords, delivery: delivery)) } catch { return .failure(error) }
    }

    /// Hands one partition's fetched records to `handle`: whole, or (with `split`) in pieces of
    /// at most `max.poll.records`. Between pieces, a stop, seek, pause or rebalance ends the
    /// fetch: the position goes back to the first piece not handed over (unless a seek or
    /// rebalance moved it already).
    func _handle(_ batch: ConsumerBatch, _ epoch: UInt64, split: Bool,
                 _ handle: @Sendable (ConsumerBatch, UInt64) async throws -> Void) async throws {
        guard split, batch.count > configuration.maxPollRecords else { return try await handle(batch, epoch) }
        let tp = batch.topicPartition
        for (i, piece) in batch._split(configuration.maxPollRecords).enumerated() {
            if i > 0 {
                let go = _state._withLock { st -> Bool in
                    guard var p = st.partitions[tp], p.epoch == epoch else { return false }
                    if st.running && !st.closed && !p.paused { return true }
                    p.position = piece.firstOffset ?? piece.nextOffset
                    st.partitions[tp] = p
                    return false
                }
                if !go || Task.isCancelled { return }
            }
            try await handle(piece, epoch)
        }
    }

    /// After a handler failure: each partition of the poll goes back to its first record not
    /// processed, so nothing is skipped.
    func _rewind(_ batches: [ConsumerBatch], _ epochs: [UInt64], failed: _HandlerFailure) {
        _state._withLock { st in
            for (b, e) in zip(batches, epochs) {
                guard var p = st.partitions[b.topicPartition], p.epoch == e else { continue }
                let first = b.firstOffset ?? b.nextOffset
                var to = max(first, min(p.consumed ?? first, b.nextOffset))
                if b.topicPartition == failed.tp { to = failed.offset }
                p.position = to
                st.epochCounter += 1
                p.epoch = st.epochCounter
                st.partitions[b.topicPartition] = p
            }
        }
    }

    /// The records as an `AsyncSequence` of owned copies (swift-kafka-client style). A record
    /// counts as processed when the next one is requested; the sequence ends when the consumer
    /// closes or the task is cancelled.
    public var messages: ConsumerMessages { ConsumerMessages(consumer: self) }
}

/// The records of a consumer as an `AsyncSequence`.
public struct ConsumerMessages: AsyncSequence, Sendable {
    public typealias Element = ConsumerRecord
    public typealias Failure = ClientError
    let consumer: Consumer

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Element = ConsumerRecord
        public typealias Failure = ClientError
        let consumer: Consumer
        var buffer: [ConsumerRecord] = []
        var index = 0
        var previous: ConsumerRecord?

        public mutating func next() async throws(ClientError) -> ConsumerRecord? {
            if let p = previous { consumer._markProcessed(p.topicPartition, offset: p.offset) }
            previous = nil
            while index >= buffer.count {
                if Task.isCancelled { return nil }
                let batches: [ConsumerBatch]
                switch await consumer._pollResult(timeout: .seconds(3600)) {
                case .success(let b): batches = b
                case .failure(let e):
                    if e.code == .consumerClosed || e.code == .cancelled { return nil }
                    throw e
                }
                buffer = batches.flatMap { $0.copyMessages() }
                index = 0
            }
            let r = buffer[index]
            index += 1
            previous = r
            return r
        }

    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
}
