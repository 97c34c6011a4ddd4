import Foundation
import Metrics
import Synchronization
public import WeirClient
import WeirFormat

/// Where the relay's fault-injection hook is asked whether to crash.
public enum OutboxFaultPoint: Sendable, Hashable {
    /// The rows were published and acknowledged but not yet marked published: a crash here
    /// makes the next relay publish them again (at-least-once), with the same `outbox-id`.
    case afterPublishBeforeMark(ids: [Int64])
}

/// How an `OutboxRelay` works.
public struct OutboxRelayConfiguration: Sendable {
    /// Rows read per round (oldest first).
    public var batchSize = 256
    /// How long an idle relay waits for a write before polling again. A relay that shares the
    /// application's `SQLiteDatabase` is woken by each write at once; one with its own connection
    /// (another process) sees writes at the next poll.
    public var pollInterval: Duration = .milliseconds(100)
    /// Backoff after a retriable failure: doubles from `minBackoff` to `maxBackoff`.
    public var minBackoff: Duration = .milliseconds(50)
    public var maxBackoff: Duration = .seconds(5)
    /// Retention of published rows (`deletePublished(olderThan:)`), nil = keep them.
    public var retention: Duration? = .seconds(24 * 3600)
    /// How often `run()` applies the retention.
    public var cleanupInterval: Duration = .seconds(60)
    /// Extra producer properties (`linger.ms`, `compression.type`, …). The relay always sets
    /// `enable.idempotence=true` and `acks=all`; setting them otherwise is an error.
    public var producerProperties: [String: String] = ["linger.ms": "1"]
    /// Fault injection for tests: return true to crash the relay at that point.
    public var faultInjection: (@Sendable (OutboxFaultPoint) -> Bool)?
    /// Called with each failure `run()` retries (the relay never swallows one silently).
    public var onError: (@Sendable (OutboxError) -> Void)?

    public init() {}
}

/// The relay's counters.
public struct OutboxRelayStatistics: Sendable, Hashable, Codable {
    /// Rows published and marked.
    public var published: Int64 = 0
    /// Rounds that published at least one row.
    public var rounds: Int64 = 0
    /// Failures (publish or database), retried or thrown.
    public var errors: Int64 = 0
    /// Rows deleted by retention.
    public var deleted: Int64 = 0
    /// The lag after the last round: unpublished rows and the oldest one's age.
    public var lag = 0
    public var oldestUnpublishedAgeMillis: Int64 = 0
}

/// Publishes an `OutboxStore`'s rows to their topics, in order per aggregate, and marks them
/// published: at-least-once.
///
/// - **Order per aggregate**: an aggregate's next row is sent only after the previous one was
///   acknowledged; when a send fails, the aggregate's later rows wait for the next round, so
///   nothing overtakes a failed row. Different aggregates are published concurrently.
/// - **Crash semantics**: rows are marked published only after their acknowledgement, so a crash
///   between publish and mark republishes them; the duplicate carries the same `outbox-id`
///   header, which an `IdempotentConsumer` uses to drop it. Within a session the producer is
///   idempotent (`enable.idempotence=true`, `acks=all`), so its own retries do not duplicate.
/// - **Errors** are not swallowed: `run()` backs off on retriable ones (reporting each to
///   `onError`) and throws a non-retriable one.
/// - Run one relay per outbox table: two relays would each keep their own order, not a shared one.
///
/// Metrics (swift-metrics): `weir_outbox_published_total`, `weir_outbox_errors_total`, and the
/// gauges `weir_outbox_lag` and `weir_outbox_oldest_age_ms`, with dimension `table`.
public final class OutboxRelay: Sendable {
    public let store: OutboxStore
    public let client: any MessagingClient
    public let configuration: OutboxRelayConfiguration
    let producer: Mutex<(any MessageProducer)?> = Mutex(nil)
    let stats = Mutex(OutboxRelayStatistics())
    let stopped = Atomic<Bool>(false)
    let publishedCounter: Counter
    let errorCounter: Counter
    let lagGauge: Gauge
    let ageGauge: Gauge

    public init(store: OutboxStore, client: any MessagingClient, configuration: OutboxRelayConfiguration = OutboxRelayConfiguration()) {
        self.store = store
        self.client = client
        self.configuration = configuration
        let dims = [("table", store.table)]
        publishedCounter = Counter(label: "weir_outbox_published_total", dimensions: dims)
        errorCounter = Counter(label: "weir_outbox_errors_total", dimensions: dims)
        lagGauge = Gauge(label: "weir_outbox_lag", dimensions: dims)
        ageGauge = Gauge(label: "weir_outbox_oldest_age_ms", dimensions: dims)
    }

    /// The counters so far.
    public var statistics: OutboxRelayStatistics { stats.withLock { $0 } }

    /// Stops `run()` after its current round.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
        store._notifier.signal()
    }

    /// Publishes until `stop()` or cancellation; applies the retention every `cleanupInterval`.
    ///
    /// - Throws: a non-retriable failure (e.g. a record larger than the topic accepts), which
    ///   leaves that row and its aggregate's later rows unpublished; `.relayCrashed` from the
    ///   fault-injection hook.
    public func run() async throws(OutboxError) {
        var backoff = configuration.minBackoff
        var nextCleanup = MonotonicDeadline(after: configuration.cleanupInterval)
        while !stopped.load(ordering: .relaxed) && !Task.isCancelled {
            do {
                let n = try await publishPending()
                backoff = configuration.minBackoff
                if n == 0 { await store._notifier.wait(timeout: configuration.pollInterval) }
            } catch {
                guard error.isRetriable else {
                    await closeProducer()
                    throw error
                }
                configuration.onError?(error)
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, configuration.maxBackoff)
            }
            if let retention = configuration.retention, nextCleanup.hasPassed {
                nextCleanup = MonotonicDeadline(after: configuration.cleanupInterval)
                do {
                    let n = try store.deletePublished(olderThan: retention)
                    stats.withLock { $0.deleted += Int64(n) }
                } catch {
                    configuration.onError?(error)
                }
            }
        }
        await closeProducer()
    }

    /// One round: reads up to `batchSize` unpublished rows, publishes them (each aggregate's rows
    /// one after the other, aggregates concurrently), marks the acknowledged ones published and
    /// returns how many.
    ///
    /// - Throws: the first failure of the round (after marking what was acknowledged), retriable
    ///   or not; `.relayCrashed` when the fault-injection hook fires (nothing marked).
    @discardableResult
    public func publishPending() async throws(OutboxError) -> Int {
        guard !stopped.load(ordering: .relaxed) else { throw OutboxError(.relayStopped, "the relay was stopped or crashed; create a new OutboxRelay.") }
        let rows = try store.pending(limit: configuration.batchSize)
        guard !rows.isEmpty else {
            updateLag()
            return 0
        }
        let producer = try await ensureProducer()
        // Group by aggregate, keeping row order within each.
        var order: [String] = []
        var byAggregate: [String: [OutboxMessage]] = [:]
        for r in rows {
            if byAggregate[r.aggregateId] == nil { order.append(r.aggregateId) }
            byAggregate[r.aggregateId, default: []].append(r)
        }
        let results = await withTaskGroup(of: (ids: [Int64], error: ClientError?).self) { group in
            for aggregate in order {
                let messages = byAggregate[aggregate]!
                group.addTask { await self.publishInOrder(messages, producer: producer) }
            }
            var all: [(ids: [Int64], error: ClientError?)] = []
            for await r in group { all.append(r) }
            return all
        }
        let ids = results.flatMap(\.ids).sorted()
        if let hook = configuration.faultInjection, hook(.afterPublishBeforeMark(ids: ids)) {
            stopped.store(true, ordering: .relaxed)
            await closeProducer()
            throw OutboxError(.relayCrashed, "the fault-injection hook crashed the relay after publishing \(ids.count) row(s) and before marking them; a new relay republishes them.")
        }
        try store.markPublished(ids)
        publishedCounter.increment(by: ids.count)
        stats.withLock {
            $0.published += Int64(ids.count)
            $0.rounds += 1
        }
        updateLag()
        if let e = results.compactMap(\.error).first {
            let failed = results.filter { $0.error != nil }.count
            errorCounter.increment()
            stats.withLock { $0.errors += 1 }
            throw OutboxError(.publish, "publishing failed for \(failed) aggregate(s) (their later rows wait, in order): \(e.message)", isRetriable: e.isRetriable)
        }
        return ids.count
    }

    /// Sends one aggregate's rows one after the other; stops at the first failure.
    func publishInOrder(_ messages: [OutboxMessage], producer: any MessageProducer) async -> (ids: [Int64], error: ClientError?) {
        var ids: [Int64] = []
        for m in messages {
            var headers = m.headers
            headers.append(RecordHeader(key: OutboxStore.idHeader, value: Array(store.messageId(m.id).utf8)))
            headers.append(RecordHeader(key: OutboxStore.aggregateHeader, value: Array(m.aggregateId.utf8)))
            let record = ProducerRecord(topic: m.topic, key: m.key ?? Array(m.aggregateId.utf8), value: m.value, headers: headers)
            do {
                _ = try await producer.send(record)
                ids.append(m.id)
            } catch {
                return (ids, error)
            }
        }
        return (ids, nil)
    }

    func ensureProducer() async throws(OutboxError) -> any MessageProducer {
        if let p = producer.withLock({ $0 }) { return p }
        var props = configuration.producerProperties
        for (key, required) in [("enable.idempotence", "true"), ("acks", "all")] {
            if let v = props[key], v != required, !(key == "acks" && v == "-1") {
                throw OutboxError(.invalidConfiguration, "producer property \(key)=\(v) is not allowed: the outbox relay needs \(key)=\(required) so that its retries do not duplicate or lose rows; remove it.")
            }
            props[key] = required
        }
        let p: any MessageProducer
        do { p = try await client.makeProducer(properties: props) } catch {
            throw OutboxError(.publish, "cannot create the relay's producer: \(error.message)", isRetriable: error.isRetriable)
        }
        producer.withLock { $0 = p }
        return p
    }

    func closeProducer() async {
        if let p = producer.withLock({ p -> (any MessageProducer)? in defer { p = nil }; return p }) { await p.close() }
    }

    func updateLag() {
        guard let s = try? store.status() else { return }
        lagGauge.record(s.unpublished)
        ageGauge.record(s.oldestUnpublishedAgeMillis)
        stats.withLock {
            $0.lag = s.unpublished
            $0.oldestUnpublishedAgeMillis = s.oldestUnpublishedAgeMillis
        }
    }
}
