public import WeirClient
import WeirLog

/// Sends the messages of a dead-letter topic back to their source topic once the cause is
/// fixed (`weir dlq replay order.payment.completed.dlq`).
///
/// The target is the `originalTopic` header (written when the message was dead-lettered) or
/// `to`. Replayed messages keep their key, value and the application's headers; the pipeline's
/// headers (`retryCount`, `retryAfter`, `error*`, `failedAt`, `original*`) are cleared, so the
/// message starts over with a full retry budget. The replay reads from the committed offset of
/// its group (default `weir-dlq-replay`) up to the end the topic had when it started, and
/// commits what it replayed, so a second replay does not send the same messages again.
public struct DeadLetterReplay: Sendable {
    /// One message of the dead-letter topic and where it goes (or went).
    public struct Item: Sendable {
        public var record: ConsumerRecord
        /// The topic it is (or would be, in a dry run) sent to; nil when it has none.
        public var target: String?
        /// Where it was written (nil in a dry run or when skipped).
        public var metadata: RecordMetadata?
    }

    /// The outcome of a replay.
    public struct Report: Sendable {
        public var items: [Item]
        /// Messages sent (0 in a dry run).
        public var replayed: Int
        /// Whether this was a dry run (nothing sent, nothing committed).
        public var dryRun: Bool
    }

    public var deadLetterTopic: String
    /// The target for every message (default: each message's `originalTopic` header).
    public var to: String?
    /// The most messages to replay (default: all).
    public var max: Int?
    /// The group whose committed offsets mark what was replayed.
    public var groupId: String
    /// Read and report only: send nothing, commit nothing.
    public var dryRun: Bool
    /// Extra producer/consumer properties (`sasl.username`).
    public var properties: [String: String]

    public init(deadLetterTopic: String, to: String? = nil, max: Int? = nil, groupId: String = "weir-dlq-replay",
                dryRun: Bool = false, properties: [String: String] = [:]) {
        self.deadLetterTopic = deadLetterTopic
        self.to = to
        self.max = max
        self.groupId = groupId
        self.dryRun = dryRun
        self.properties = properties
    }

    /// Replays on `client`.
    /// - Throws: `ClientError`; `.invalidState` when a message has no `originalTopic` header and
    ///   no `to` was given (nothing after it is replayed; what came before is committed).
    public func run(on client: any MessagingClient) async throws(ClientError) -> Report {
        var report = Report(items: [], replayed: 0, dryRun: dryRun)
        var producer: (any MessageProducer)? = nil
        defer { if let producer { Task { await producer.close() } } }
        try await DeadLetterReplay.read(deadLetterTopic, on: client, groupId: groupId, properties: properties,
                                        max: max, commit: !dryRun) { (record) async throws(ClientError) -> Void in
            guard let target = to ?? RetryHeaders.string(RetryHeaders.originalTopic, in: record.headers) else {
                throw ClientError(.invalidState, "message \(record.topic)-\(record.partition)@\(record.offset) has no \(RetryHeaders.originalTopic) header; give the target topic with --to TOPIC.")
            }
            var item = Item(record: record, target: target, metadata: nil)
            if !dryRun {
                if producer == nil { producer = try await client.makeProducer(properties: properties.merging(["linger.ms": "0"]) { a, _ in a }) }
                let headers = record.headers.filter { !RetryHeaders.all.contains($0.key) }
                item.metadata = try await producer!.send(ProducerRecord(topic: target, key: record.key, value: record.value, headers: headers))
                report.replayed += 1
            }
            report.items.append(item)
        }
        if let p = producer { producer = nil; await p.close() }
        return report
    }

    /// Reads `topic` from the committed offsets of `groupId` (or the beginning) up to its end at
    /// the start of the call, calling `body` with each record; commits after each handled record's
    /// poll when `commit` is set. Stops after `max` records.
    public static func read(_ topic: String, on client: any MessagingClient, groupId: String?, properties: [String: String] = [:],
                            max: Int? = nil, commit: Bool,
                            _ body: (ConsumerRecord) async throws(ClientError) -> Void) async throws(ClientError) {
        let count = try await client.partitionCount(topic)
        let tps = (0..<Int32(count)).map { TopicPartition(topic, $0) }
        let ends = try await client.endOffsets(tps)
        var props = properties
        props["enable.auto.commit"] = "false"
        props["auto.offset.reset"] = "earliest"
        if let groupId { props["group.id"] = groupId }
        let consumer = try await client.makeConsumer(properties: props)
        do throws(ClientError) {
            try await consumer.assign(tps)
            var remaining: Set<TopicPartition> = []
            for tp in tps {
                var start: Int64? = nil
                if groupId != nil { start = try await consumer.committed(tp) }
                if let start { try await consumer.seek(tp, to: start) }
                if (ends[tp] ?? 0) > (start ?? 0) { remaining.insert(tp) }
            }
            var seen = 0
            var idle = 0
            while !remaining.isEmpty, seen < (max ?? Int.max), idle < 20 {
                let records = try await consumer.poll(timeout: .milliseconds(50))
                idle = records.isEmpty ? idle + 1 : 0
                var commits: [TopicPartition: Int64] = [:]
                var failure: ClientError? = nil
                for record in records where remaining.contains(record.topicPartition) && seen < (max ?? Int.max) {
                    let tp = record.topicPartition
                    guard record.offset < ends[tp] ?? 0 else { remaining.remove(tp); continue }
                    do { try await body(record) } catch { failure = error; break }
                    seen += 1
                    commits[tp] = record.offset + 1
                    if record.offset + 1 >= ends[tp] ?? 0 { remaining.remove(tp) }
                }
                if commit && groupId != nil && !commits.isEmpty { try await consumer.commit(commits) }
                if let failure { throw failure }
            }
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }
}

