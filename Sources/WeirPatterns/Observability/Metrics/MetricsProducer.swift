public import Metrics
public import WeirClient
public import WeirLog

/// A `MessageProducer` that records swift-metrics for every send of the producer it wraps:
/// `weir_producer_records_total` and `weir_producer_send_duration_seconds` per `topic` on
/// success, `weir_producer_errors_total` per `topic` and error `code` on failure.
///
/// Works over any backend (the embedded log, Kafka) and composes with the other wrappers
/// (`TracingProducer`, `HealthTrackingProducer`).
public struct MetricsProducer: MessageProducer {
    public let base: any MessageProducer
    let _cache: _MetricCache

    /// - Parameter factory: where the metrics go; nil for the bootstrapped `MetricsSystem`.
    public init(_ base: any MessageProducer, factory: (any MetricsFactory)? = nil) {
        self.base = base
        self._cache = _MetricCache(factory: factory)
    }

    public func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
        let start = monotonicNanos()
        let dims = [("topic", record.topic)]
        do {
            let metadata = try await base.send(record)
            _cache.timer(WeirMetricNames.produceDuration, dims).recordNanoseconds(Int64(monotonicNanos() - start))
            _cache.counter(WeirMetricNames.producedRecords, dims).increment()
            return metadata
        } catch {
            _cache.counter(WeirMetricNames.produceErrors, [("topic", record.topic), ("code", error.code.rawValue)]).increment()
            throw error
        }
    }

    public func flush() async throws(ClientError) { try await base.flush() }
    public func close() async { await base.close() }
}

/// A `MessageConsumer` that counts what `poll` returns (`weir_consumer_records_total` per
/// `topic`, `partition`, `group`) and failed polls and commits (`weir_consumer_errors_total`
/// per `group` and `code`). Pair it with `ProcessingMetrics.instrument` for handler times.
public struct MetricsConsumer: MessageConsumer {
    public let base: any MessageConsumer
    /// The `group` dimension (the consumer's `group.id`, or any name for an assigned consumer).
    public let group: String
    let _cache: _MetricCache

    public init(_ base: any MessageConsumer, group: String, factory: (any MetricsFactory)? = nil) {
        self.base = base
        self.group = group
        self._cache = _MetricCache(factory: factory)
    }

    func _failed(_ error: ClientError) -> ClientError {
        _cache.counter(WeirMetricNames.consumeErrors, [("group", group), ("code", error.code.rawValue)]).increment()
        return error
    }

    public func subscribe(topics: [String], listener: (any MessageRebalanceListener)?) async throws(ClientError) {
        do { try await base.subscribe(topics: topics, listener: listener) } catch { throw _failed(error) }
    }

    public func assign(_ partitions: [TopicPartition]) async throws(ClientError) {
        do { try await base.assign(partitions) } catch { throw _failed(error) }
    }

    public func poll(timeout: Duration) async throws(ClientError) -> [ConsumerRecord] {
        let records: [ConsumerRecord]
        do { records = try await base.poll(timeout: timeout) } catch { throw _failed(error) }
        var counts: [TopicPartition: Int64] = [:]
        for r in records { counts[TopicPartition(r.topic, r.partition), default: 0] += 1 }
        for (tp, n) in counts {
            _cache.counter(WeirMetricNames.consumedRecords, [("topic", tp.topic), ("partition", String(tp.partition)), ("group", group)]).increment(by: n)
        }
        return records
    }

    public func commit(_ offsets: [TopicPartition: Int64]) async throws(ClientError) {
        do { try await base.commit(offsets) } catch { throw _failed(error) }
    }

    public func committed(_ partition: TopicPartition) async throws(ClientError) -> Int64? { try await base.committed(partition) }
    public func seek(_ partition: TopicPartition, to offset: Int64) async throws(ClientError) { try await base.seek(partition, to: offset) }
    public func pause(_ partitions: [TopicPartition]) async throws(ClientError) { try await base.pause(partitions) }
    public func resume(_ partitions: [TopicPartition]) async throws(ClientError) { try await base.resume(partitions) }
    public func assignment() async -> [TopicPartition] { await base.assignment() }
    public func close() async { await base.close() }
}

/// Handler-side metrics: `weir_consumer_processing_duration_seconds` per record and
/// `weir_consumer_processing_errors_total` when the handler throws, per `topic`, `partition`,
/// `group`.
public struct ProcessingMetrics: Sendable {
    public let group: String
    let _cache: _MetricCache

    public init(group: String, factory: (any MetricsFactory)? = nil) {
        self.group = group
        self._cache = _MetricCache(factory: factory)
    }

    /// `handler`, timed and counted.
    public func instrument(_ handler: @escaping RecordHandler) -> RecordHandler {
        { record in try await self.measure(record) { try await handler(record) } }
    }

    /// Runs `body` for `record`, recording its time (also when it throws) and its failure.
    public func measure<T>(_ record: ConsumerRecord, _ body: () async throws -> T) async throws -> T {
        let recorder = recorder(topic: record.topic, partition: record.partition)
        let start = monotonicNanos()
        do {
            let value = try await body()
            recorder.record(nanoseconds: Int64(monotonicNanos() - start))
            return value
        } catch {
            recorder.record(nanoseconds: Int64(monotonicNanos() - start), failed: true)
            throw error
        }
    }

    /// The handles of one topic and partition, resolved once, for synchronous loops that time
    /// their own work. A nil `partition` is labelled `all` (a caller that does not know it).
    public func recorder(topic: String, partition: Int32?) -> Recorder {
        let dims = [("topic", topic), ("partition", partition.map { String($0) } ?? "all"), ("group", group)]
        return Recorder(timer: _cache.timer(WeirMetricNames.processingDuration, dims),
                        errors: _cache.counter(WeirMetricNames.processingErrors, dims))
    }

    /// Records handler times and failures of one topic and partition.
    public struct Recorder: Sendable {
        let timer: Timer
        let errors: Counter

        /// One record's handler time, and whether the handler failed.
        public func record(nanoseconds: Int64, failed: Bool = false) {
            timer.recordNanoseconds(nanoseconds)
            if failed { errors.increment() }
        }
    }
}
