#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import WeirCompression
import WeirFormat
import WeirLog

// Draining: ready batches to the log in order, retries, acknowledgements, delivery reports.
extension Producer {
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
        while _appendStalled.load(ordering: .relaxed) { usleep(100) }
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
                _uncompressedBytes.add(Int64(builder.estimatedSize), ordering: .relaxed)
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

    /// Resolves a batch's waiters and its delivery report, releases its memory and recycles it.
    func _complete(_ batch: _Batch, _ acc: _PartitionAccumulator, _ result: Result<AppendResult, ClientError>) {
        let tp = acc.topicPartition
        let count = Int64(batch.builder.recordCount)
        switch result {
        case .success(let r):
            _sent.add(count, ordering: .relaxed)
            for w in batch.waiters {
                w.promise.fulfill(.success(RecordMetadata(topic: tp.topic, partition: tp.partition, offset: r.baseOffset + Int64(w.index), timestamp: w.timestamp)))
            }
        case .failure(let e):
            _failed.add(count, ordering: .relaxed)
            _transactions?.recordFailure(e)
            for w in batch.waiters { w.promise.fulfill(.failure(e)) }
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
}
