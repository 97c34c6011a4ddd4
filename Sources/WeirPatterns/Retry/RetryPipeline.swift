public import WeirClient
import WeirFormat
import WeirLog
import Foundation
import Synchronization

/// The settings of a `RetryPipeline`.
public struct RetryConfiguration: Sendable {
    /// How the pipeline's consumer gets its partitions.
    public enum Assignment: Sendable, Hashable {
        /// Subscribe with the group (`group.id`): partitions are balanced across instances.
        case group
        /// Assign these partition numbers of the source topic and of every retry tier (no
        /// group management; offsets are still committed to `group.id`).
        case partitions([Int32])
    }

    /// The topic the application consumes (`order.payment.completed`).
    public var sourceTopic: String
    /// `group.id` of the pipeline's consumer (source and retry tiers).
    public var groupId: String
    /// Retries before a message goes to `<source>.dlq` (default 3). A handler error that is a
    /// `ClassifiedError` with `isRetriable == false` goes there at once.
    public var maxRetries: Int
    /// The delay before retry `n` (default 1 s base, 5 min cap, full jitter).
    public var backoff: Backoff
    public var assignment: Assignment
    /// With `.partitions`: a source partition without a committed offset starts at its end
    /// (Kafka's `auto.offset.reset=latest`) instead of its beginning. Default false.
    public var startSourceAtEnd: Bool
    /// Partitions of the retry and DLQ topics when the pipeline creates them (default: as many
    /// as the source topic).
    public var retryTopicPartitions: Int?
    /// Extra consumer properties (`sasl.username`, `max.poll.records`, …).
    public var consumerProperties: [String: String]
    /// Extra producer properties for the retry/DLQ producer (`sasl.username`, `linger.ms`, …).
    public var producerProperties: [String: String]
    /// The longest one `poll` waits (default 100 ms).
    public var pollTimeout: Duration
    /// The wall clock in epoch milliseconds (for `retryAfter`); injectable for tests.
    public var wallClockMillis: @Sendable () -> Int64

    public init(sourceTopic: String, groupId: String, maxRetries: Int = 3,
                backoff: Backoff = Backoff(base: .seconds(1), cap: .seconds(300), jitter: .full),
                assignment: Assignment = .group, startSourceAtEnd: Bool = false, retryTopicPartitions: Int? = nil,
                consumerProperties: [String: String] = [:], producerProperties: [String: String] = [:],
                pollTimeout: Duration = .milliseconds(100),
                wallClockMillis: @escaping @Sendable () -> Int64 = RetryConfiguration.systemMillis) {
        self.sourceTopic = sourceTopic
        self.groupId = groupId
        self.maxRetries = max(0, maxRetries)
        self.backoff = backoff
        self.assignment = assignment
        self.startSourceAtEnd = startSourceAtEnd
        self.retryTopicPartitions = retryTopicPartitions
        self.consumerProperties = consumerProperties
        self.producerProperties = producerProperties
        self.pollTimeout = pollTimeout
        self.wallClockMillis = wallClockMillis
    }

    /// The system's wall clock in epoch milliseconds (the default `wallClockMillis`).
    public static let systemMillis: @Sendable () -> Int64 = { _systemMillis() }

    static func _systemMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The retry tiers: `<source>.retry.1` … `<source>.retry.<maxRetries>`.
    public var retryTopics: [String] { maxRetries == 0 ? [] : (1...maxRetries).map { RetryTopics.retryTopic(sourceTopic, retry: $0) } }
    /// `<source>.dlq`.
    public var deadLetterTopic: String { RetryTopics.deadLetterTopic(sourceTopic) }
}

/// One message handed to the handler.
public struct RetryDelivery: Sendable {
    /// The record as consumed (from the source topic or a retry tier).
    public var record: ConsumerRecord
    /// The topic the message was first consumed from.
    public var originalTopic: String
    /// 1 for the first attempt, 2 for the first retry, …
    public var attempt: Int
}

/// A message the pipeline gave up on, as written to the dead-letter topic: what the alert hook
/// receives.
public struct DeadLetter: Sendable {
    /// The record as written to `<source>.dlq` (headers included).
    public var record: ProducerRecord
    /// Where it landed.
    public var metadata: RecordMetadata
    /// The last error.
    public var error: any Error
    /// Attempts made.
    public var attempts: Int
    /// Whether the error was classified non-retriable (sent without retries).
    public var nonRetriable: Bool
}

/// What a pipeline did so far.
public struct RetryStatistics: Sendable, Hashable {
    public init(processed: Int64 = 0, retried: Int64 = 0, deadLettered: Int64 = 0, pauses: Int64 = 0) {
        self.processed = processed
        self.retried = retried
        self.deadLettered = deadLettered
        self.pauses = pauses
    }

    /// Messages the handler processed successfully.
    public var processed: Int64
    /// Messages sent to a retry tier.
    public var retried: Int64
    /// Messages sent to the dead-letter topic.
    public var deadLettered: Int64
    /// Times a retry-tier partition was paused because its next message was not due.
    public var pauses: Int64
}

/// Retry topics with exponential backoff and a dead-letter topic, as a consumer loop
/// (the reference document's "Dead Letter Queue Pattern", without its flaws).
///
/// A message whose handler fails goes to the retry tier `<source>.retry.<n>` with the headers
/// `retryCount` = n and `retryAfter` = now + backoff(n) (epoch ms), and keeps its origin
/// (`originalTopic`, `originalPartition`, `originalOffset`). The same consumer reads the source
/// and the tiers. When a tier's next message is not due yet, the pipeline **pauses that
/// partition, seeks back to the message, and resumes it when it is due**: nothing is processed
/// early, no thread sleeps, and other partitions (the source, other tiers) carry on meanwhile.
/// After `maxRetries` retries, or at once for an error classified non-retriable
/// (`ClassifiedError.isRetriable == false`), the message goes to `<source>.dlq` with
/// `errorMessage`, `errorType`, `errorContext` and `failedAt` headers, and `alert` is called.
///
/// Offsets are committed after each poll's messages are handled and their retry/DLQ copies are
/// acknowledged: at-least-once.
///
/// ```swift
/// let pipeline = RetryPipeline(client: client,
///     configuration: RetryConfiguration(sourceTopic: "order.payment.completed", groupId: "billing"),
///     alert: { dead in logger.error("dead-lettered: \(dead.error)") }) { delivery in
///     try await charge(delivery.record)
/// }
/// try await pipeline.run()   // until the task is cancelled or stop()
/// ```
///
/// The reference sketch instead sleeps in the consumer (blocking its partition and every other
/// one), re-reads from one shared `retry-topic` without honouring `retryAfter`, and drops the
/// original topic, so a dead letter cannot be replayed to where it came from.
public final class RetryPipeline: Sendable {
    public typealias Handler = @Sendable (RetryDelivery) async throws -> Void
    public typealias Alert = @Sendable (DeadLetter) async -> Void

    public let configuration: RetryConfiguration
    let client: any MessagingClient
    let handler: Handler
    let alert: Alert?

    struct _Clients: Sendable {
        var consumer: any MessageConsumer
        var producer: any MessageProducer
    }
    let _clients = Mutex<_Clients?>(nil)
    /// Paused retry partitions and the epoch ms when their head is due.
    let _due = Mutex<[TopicPartition: Int64]>([:])
    let _stopped = Atomic<Bool>(false)
    let _processed = Atomic<Int64>(0), _retried = Atomic<Int64>(0), _deadLettered = Atomic<Int64>(0), _pauses = Atomic<Int64>(0)

    public init(client: any MessagingClient, configuration: RetryConfiguration, alert: Alert? = nil, handler: @escaping Handler) {
        self.client = client
        self.configuration = configuration
        self.alert = alert
        self.handler = handler
    }

    public var statistics: RetryStatistics {
        RetryStatistics(processed: _processed.load(ordering: .relaxed), retried: _retried.load(ordering: .relaxed),
                        deadLettered: _deadLettered.load(ordering: .relaxed), pauses: _pauses.load(ordering: .relaxed))
    }

    struct _Revoker: MessageRebalanceListener {
        let pipeline: RetryPipeline
        func partitionsRevoked(_ partitions: [TopicPartition]) async {
            pipeline._due.withLock { d in for tp in partitions { d[tp] = nil } }
        }
        func partitionsAssigned(_ partitions: [TopicPartition]) async {}
    }

    /// Creates the retry tiers and the DLQ topic when missing, and the consumer and producer.
    /// `run` and `pollOnce` call it when needed.
    public func start() async throws(ClientError) {
        if _clients.withLock({ $0 != nil }) { return }
        let c = configuration
        var partitions = c.retryTopicPartitions ?? 0
        if partitions == 0 { partitions = try await client.partitionCount(c.sourceTopic) }
        for topic in c.retryTopics + [c.deadLetterTopic] {
            try await client.ensureTopic(topic, partitions: partitions, configs: [:])
        }
        var props = c.consumerProperties
        props["group.id"] = c.groupId
        props["enable.auto.commit"] = "false"
        if props["auto.offset.reset"] == nil { props["auto.offset.reset"] = "earliest" }
        let consumer = try await client.makeConsumer(properties: props)
        var pprops = c.producerProperties
        if pprops["linger.ms"] == nil { pprops["linger.ms"] = "0" }
        let producer: any MessageProducer
        do { producer = try await client.makeProducer(properties: pprops) } catch {
            await consumer.close()
            throw error
        }
        do throws(ClientError) {
            switch c.assignment {
            case .group:
                try await consumer.subscribe(topics: [c.sourceTopic] + c.retryTopics, listener: _Revoker(pipeline: self))
            case .partitions(let numbers):
                var tps: [TopicPartition] = []
                for topic in [c.sourceTopic] + c.retryTopics {
                    let count = try await client.partitionCount(topic)
                    tps += numbers.filter { $0 < count }.map { TopicPartition(topic, $0) }
                }
                try await consumer.assign(tps)
                let ends = c.startSourceAtEnd ? try await client.endOffsets(tps.filter { $0.topic == c.sourceTopic }) : [:]
                for tp in tps {
                    if let committed = try await consumer.committed(tp) {
                        try await consumer.seek(tp, to: committed)
                    } else if let end = ends[tp] {
                        try await consumer.seek(tp, to: end)
                    }
                }
            }
        } catch {
            await consumer.close()
            await producer.close()
            throw error
        }
        _clients.withLock { $0 = _Clients(consumer: consumer, producer: producer) }
    }

    /// Runs the loop until `stop()` or the task is cancelled, then closes the clients.
    public func run() async throws(ClientError) {
        try await start()
        defer { _stopped.store(false, ordering: .relaxed) }
        do throws(ClientError) {
            while !_stopped.load(ordering: .relaxed) && !Task.isCancelled {
                do { _ = try await pollOnce() } catch where error.code == .rebalanceInProgress || error.isRetriable {
                    // Uncommitted messages come back after the rejoin or on the next poll.
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
        } catch {
            await close()
            throw error
        }
        await close()
    }

    /// Ends `run` after its current poll.
    public func stop() { _stopped.store(true, ordering: .relaxed) }

    /// Closes the consumer (without committing more) and the producer.
    public func close() async {
        guard let clients = _clients.withLock({ c -> _Clients? in defer { c = nil }; return c }) else { return }
        await clients.consumer.close()
        await clients.producer.close()
    }

    /// One round: resumes the partitions that are due, polls, handles each message (retry /
    /// DLQ on failure), commits. Returns the number of messages handled.
    @discardableResult
    public func pollOnce() async throws(ClientError) -> Int {
        try await start()
        guard let clients = _clients.withLock({ $0 }) else { return 0 }
        let consumer = clients.consumer
        let c = configuration
        // Resume the partitions whose head is due.
        var now = c.wallClockMillis()
        let due = _due.withLock { d -> [TopicPartition] in
            let ready = d.filter { $0.value <= now }.map(\.key)
            for tp in ready { d[tp] = nil }
            return ready
        }
        for tp in due { try? await consumer.resume([tp]) }   // a partition revoked meanwhile is not ours to resume
        // Wait no longer than until the next partition is due.
        var timeout = c.pollTimeout
        if let next = _due.withLock({ $0.values.min() }) {
            timeout = min(timeout, .milliseconds(max(1, next - now)))
        }
        let records = try await consumer.poll(timeout: timeout)
        var commits: [TopicPartition: Int64] = [:]
        var handled = 0
        var pausedNow: Set<TopicPartition> = []
        var routes: [_Route] = []
        for record in records {
            let tp = record.topicPartition
            if pausedNow.contains(tp) { continue }
            if _due.withLock({ $0[tp] != nil }) { continue }    // paused earlier (records fetched before the pause)
            now = c.wallClockMillis()
            if let after = RetryHeaders.string(RetryHeaders.retryAfter, in: record.headers).flatMap({ Int64($0) }), after > now {
                pausedNow.insert(tp)
                do {
                    try await consumer.pause([tp])
                    try await consumer.seek(tp, to: record.offset)
                } catch {
                    continue    // revoked by a rebalance: its new owner starts from the committed offset
                }
                _due.withLock { $0[tp] = after }
                _pauses.add(1, ordering: .relaxed)
                continue
            }
            if let route = try await _handle(record) { routes.append(route) }
            commits[tp] = record.offset + 1
            handled += 1
        }
        try await _send(routes, clients.producer)
        if !commits.isEmpty { try await consumer.commit(commits) }
        return handled
    }

    /// A failed message on its way to a retry tier or the DLQ.
    struct _Route: Sendable {
        var record: ProducerRecord
        /// Set for a dead letter.
        var dead: (error: any Error, attempts: Int, nonRetriable: Bool)?
    }

    /// Sends the poll's retry and DLQ copies, the copies of one key in order and different keys
    /// concurrently (they batch in the producer instead of paying one round trip each), waits for
    /// every acknowledgement, then calls `alert` for the dead letters in order.
    func _send(_ routes: [_Route], _ producer: any MessageProducer) async throws(ClientError) {
        guard !routes.isEmpty else { return }
        var byKey: [[UInt8]?: [Int]] = [:]
        for (i, route) in routes.enumerated() { byKey[route.record.key, default: []].append(i) }
        let chains = Array(byKey.values)
        let results = await withTaskGroup(of: [(Int, Result<RecordMetadata, ClientError>)].self) { group in
            for chain in chains {
                group.addTask {
                    var out: [(Int, Result<RecordMetadata, ClientError>)] = []
                    for i in chain {
                        do throws(ClientError) { out.append((i, .success(try await producer.send(routes[i].record)))) } catch {
                            out.append((i, .failure(error)))
                        }
                    }
                    return out
                }
            }
            var out = [Result<RecordMetadata, ClientError>?](repeating: nil, count: routes.count)
            for await done in group { for (i, r) in done { out[i] = r } }
            return out
        }
        for (route, result) in zip(routes, results) {
            let metadata = try result!.get()
            guard let dead = route.dead else {
                _retried.add(1, ordering: .relaxed)
                continue
            }
            _deadLettered.add(1, ordering: .relaxed)
            await alert?(DeadLetter(record: route.record, metadata: metadata, error: dead.error, attempts: dead.attempts, nonRetriable: dead.nonRetriable))
        }
    }

    /// Runs the handler; returns the copy to send when it failed.
    func _handle(_ record: ConsumerRecord) async throws(ClientError) -> _Route? {
        let c = configuration
        let retries = RetryHeaders.string(RetryHeaders.retryCount, in: record.headers).flatMap { Int($0) } ?? 0
        let original = RetryHeaders.string(RetryHeaders.originalTopic, in: record.headers) ?? record.topic
        do {
            try await handler(RetryDelivery(record: record, originalTopic: original, attempt: retries + 1))
            _processed.add(1, ordering: .relaxed)
            return nil
        } catch let error as CancellationError {
            throw ClientError(.cancelled, "the handler was cancelled: \(error); the message stays uncommitted.")
        } catch {
            let nonRetriable = (error as? any ClassifiedError)?.isRetriable == false
            var origin: [(String, String)] = []
            if RetryHeaders.string(RetryHeaders.originalTopic, in: record.headers) == nil {
                origin = [(RetryHeaders.originalTopic, record.topic), (RetryHeaders.originalPartition, String(record.partition)),
                          (RetryHeaders.originalOffset, String(record.offset))]
            }
            let message = String(describing: error)
            let type = String(reflecting: Swift.type(of: error))
            if !nonRetriable && retries < c.maxRetries {
                let n = retries + 1
                let delay = c.backoff.delay(forRetry: n)
                let after = c.wallClockMillis() + Int64(Backoff._ms(delay).rounded(.up))
                let headers = RetryHeaders.replacing(record.headers, with: origin + [
                    (RetryHeaders.retryCount, String(n)), (RetryHeaders.retryAfter, String(after)),
                    (RetryHeaders.errorMessage, message), (RetryHeaders.errorType, type)])
                return _Route(record: ProducerRecord(topic: RetryTopics.retryTopic(c.sourceTopic, retry: n), key: record.key,
                                                     value: record.value, headers: headers, timestamp: record.timestamp))
            }
            let context = "group=\(c.groupId) consumed=\(record.topic)-\(record.partition)@\(record.offset) attempt=\(retries + 1) "
                + (nonRetriable ? "non-retriable error: sent without retries" : "retries exhausted (maxRetries=\(c.maxRetries))")
            let failedAt = Date(timeIntervalSince1970: Double(c.wallClockMillis()) / 1000)
            return _Route(record: RetryHeaders.deadLetterRecord(record, topic: c.deadLetterTopic, error: error, retryCount: retries,
                                                                context: context, failedAt: failedAt),
                          dead: (error, retries + 1, nonRetriable))
        }
    }
}
