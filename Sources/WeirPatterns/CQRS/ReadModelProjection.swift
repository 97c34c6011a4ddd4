import Foundation
import Synchronization
public import WeirClient
import WeirLog

/// A projection that could not apply events.
public struct ProjectionError: ClassifiedError, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The consumer failed (see `clientError`).
        case consumer
        /// The read model's database failed, or `apply` threw; the batch was rolled back and
        /// its partitions rewound to the checkpoint.
        case apply
        /// `start` was not called, or the projection was stopped.
        case notStarted
    }

    public var code: Code
    public var message: String
    public var clientError: ClientError?
    let _retriable: Bool

    public init(_ code: Code, _ message: String, clientError: ClientError? = nil, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.clientError = clientError
        _retriable = isRetriable
    }

    public var isRetriable: Bool { _retriable }
    public var description: String { "\(code.rawValue): \(message)" }
}

/// The query side of CQRS: a consumer-group member that applies the events of an event-store
/// topic to a read model in SQLite.
///
/// **Exactly-once effect on the read model.** For each polled batch, one SQLite transaction
/// applies the events and stores, per partition, the offset of the last applied event (table
/// `projection_checkpoints`). An event at or below its partition's checkpoint is skipped, so a
/// redelivery (a crash before the consumer commit, a rebalance) changes nothing; after a crash
/// the read model and its checkpoint are consistent because they commit together. Consumer
/// offsets are committed after the transaction only to keep the group's lag meaningful; the
/// checkpoint in SQLite is the source of truth, and on assignment each partition is positioned
/// right after it.
///
/// `apply` writes the read model's rows through the transaction it is given (see
/// `DocumentReadModel` for a ready-made table with a primary and a secondary key).
public final class ReadModelProjection: Sendable {
    public typealias Apply = @Sendable (SQLiteTransaction, EventRecord) throws -> Void

    /// The projection's name (its checkpoint rows).
    public let name: String
    public let topic: String
    public let database: SQLiteDatabase
    let client: any MessagingClient
    let consumerProperties: [String: String]
    let apply: Apply
    let _consumer = Mutex<(any MessageConsumer)?>(nil)
    let _counts = Mutex<Counts>(Counts())

    /// What the projection did.
    public struct Counts: Sendable, Hashable {
        /// Events applied to the read model.
        public var applied = 0
        /// Events at or below the checkpoint, skipped.
        public var skippedDuplicates = 0
        /// Records that are not event-store events (no `aggregate.version`), skipped.
        public var skippedForeign = 0
    }

    /// - Parameters:
    ///   - groupId: the consumer group (`group.id`); members of one group share the partitions.
    ///   - consumerProperties: more consumer properties (`session.timeout.ms`, …).
    public init(name: String, topic: String, groupId: String, client: any MessagingClient, database: SQLiteDatabase,
                consumerProperties: [String: String] = [:], apply: @escaping Apply) throws(SQLiteError) {
        self.name = name
        self.topic = topic
        self.client = client
        self.database = database
        var props = consumerProperties
        props["group.id"] = groupId
        props["enable.auto.commit"] = "false"
        props["auto.offset.reset"] = props["auto.offset.reset"] ?? "earliest"
        self.consumerProperties = props
        self.apply = apply
        try database.execute("""
            CREATE TABLE IF NOT EXISTS projection_checkpoints (
                projection TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
                PRIMARY KEY (projection, topic, partition))
            """)
    }

    public var counts: Counts { _counts.withLock { $0 } }

    /// The offset of the last event applied from `partition`, nil when none.
    public func checkpoint(_ partition: Int32) throws(SQLiteError) -> Int64? {
        try database.query("SELECT offset FROM projection_checkpoints WHERE projection = ? AND topic = ? AND partition = ?",
                           [.text(name), .text(topic), .integer(Int64(partition))]).first?[0].int64
    }

    struct _Listener: MessageRebalanceListener {
        weak let projection: ReadModelProjection?
        func partitionsAssigned(_ partitions: [TopicPartition]) async { await projection?._positionAfterCheckpoints(partitions) }
        func partitionsRevoked(_ partitions: [TopicPartition]) async {}
    }

    /// Joins the group and subscribes to the topic.
    public func start() async throws(ProjectionError) {
        let consumer: any MessageConsumer
        do {
            consumer = try await client.makeConsumer(properties: consumerProperties)
            try await consumer.subscribe(topics: [topic], listener: _Listener(projection: self))
        } catch {
            throw ProjectionError(.consumer, "cannot subscribe projection '\(name)' to '\(topic)': \(error.message)", clientError: error, isRetriable: error.isRetriable)
        }
        _consumer.withLock { $0 = consumer }
    }

    func _positionAfterCheckpoints(_ partitions: [TopicPartition]) async {
        guard let consumer = _consumer.withLock({ $0 }) else { return }
        for tp in partitions {
            // Only an optimisation: events at or below the checkpoint are skipped anyway.
            if let cp = try? checkpoint(tp.partition) { try? await consumer.seek(tp, to: cp + 1) }
        }
    }

    /// Polls once (up to `timeout`) and applies what arrived in one transaction; returns the
    /// number of events applied.
    @discardableResult
    public func poll(timeout: Duration = .milliseconds(100)) async throws(ProjectionError) -> [EventRecord] {
        guard let consumer = _consumer.withLock({ $0 }) else {
            throw ProjectionError(.notStarted, "projection '\(name)' is not started; call start() first.")
        }
        let records: [ConsumerRecord]
        do { records = try await consumer.poll(timeout: timeout) } catch {
            throw ProjectionError(.consumer, "projection '\(name)': poll failed: \(error.message)", clientError: error, isRetriable: error.isRetriable)
        }
        guard !records.isEmpty else { return [] }
        let name = self.name, topic = self.topic, apply = self.apply
        let result: Result<_Batch, SQLiteTransactionError<ProjectionError>>
        result = Result { () throws(SQLiteTransactionError<ProjectionError>) in
            try database.transaction { (tx) throws(ProjectionError) in
                var checkpoints: [Int32: Int64] = [:]
                var applied: [EventRecord] = []
                var dup = 0, foreign = 0
                for r in records {
                    do {
                        if checkpoints[r.partition] == nil {
                            checkpoints[r.partition] = try tx.query("SELECT offset FROM projection_checkpoints WHERE projection = ? AND topic = ? AND partition = ?",
                                                                    [.text(name), .text(topic), .integer(Int64(r.partition))]).first?[0].int64 ?? -1
                        }
                        if r.offset <= checkpoints[r.partition]! { dup += 1; continue }
                        checkpoints[r.partition] = r.offset
                        guard let event = EventRecord(r) else { foreign += 1; continue }
                        try apply(tx, event)
                        applied.append(event)
                    } catch {
                        throw ProjectionError(.apply, "projection '\(name)': applying \(r.topic)-\(r.partition)@\(r.offset) failed: \(error); the batch was rolled back.")
                    }
                }
                for (p, o) in checkpoints where o >= 0 {
                    do {
                        try tx.run("INSERT INTO projection_checkpoints (projection, topic, partition, offset) VALUES (?, ?, ?, ?) ON CONFLICT (projection, topic, partition) DO UPDATE SET offset = excluded.offset",
                                   [.text(name), .text(topic), .integer(Int64(p)), .integer(o)])
                    } catch {
                        throw ProjectionError(.apply, "projection '\(name)': writing the checkpoint failed: \(error).")
                    }
                }
                return _Batch(applied: applied, dup: dup, foreign: foreign, last: checkpoints)
            }
        }
        switch result {
        case .success(let r):
            _counts.withLock { $0.applied += r.applied.count; $0.skippedDuplicates += r.dup; $0.skippedForeign += r.foreign }
            var commits: [TopicPartition: Int64] = [:]
            for (p, o) in r.last where o >= 0 { commits[TopicPartition(topic, p)] = o + 1 }
            // The checkpoint is the truth; a failed commit only means redelivery, which is skipped.
            try? await consumer.commit(commits)
            return r.applied
        case .failure(let e):
            // Rewind so the rolled-back records are polled again.
            for p in Set(records.map(\.partition)) {
                let cp = try? checkpoint(p)
                let first = records.first { $0.partition == p }!.offset
                try? await consumer.seek(TopicPartition(topic, p), to: cp.map { $0 + 1 } ?? first)
            }
            switch e {
            case .body(let pe): throw pe
            case .sqlite(let se): throw ProjectionError(.apply, "projection '\(name)': SQLite failed: \(se)", isRetriable: se.isRetriable)
            }
        }
    }

    struct _Batch: Sendable {
        var applied: [EventRecord]
        var dup: Int
        var foreign: Int
        var last: [Int32: Int64]
    }

    /// Polls and applies until the task is cancelled or `stop()` is called.
    public func run() async throws(ProjectionError) {
        while !Task.isCancelled, _consumer.withLock({ $0 }) != nil {
            try await poll(timeout: .milliseconds(100))
        }
    }

    /// Leaves the group and releases the consumer.
    public func stop() async {
        let c = _consumer.withLock { c in defer { c = nil }; return c }
        await c?.close()
    }
}
