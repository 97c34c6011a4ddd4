import Foundation
import Synchronization
public import WeirClient
public import WeirLog

/// Where an `IdempotentConsumer` takes a message's id from.
public enum MessageIdStrategy: Sendable {
    /// `<topic>-<partition>@<offset>`: catches redeliveries of the same record (after a crash
    /// before the offset commit, or a rebalance), not a producer that sent twice.
    case topicPartitionOffset
    /// The message key (UTF-8): for keys that identify one event.
    case key
    /// A header's value (UTF-8), e.g. `OutboxStore.idHeader` (`outbox-id`), which stays the same
    /// when the outbox relay republishes a row.
    case header(String)
    /// Any function of the record; nil means the record has no id.
    case custom(@Sendable (ConsumerRecord) -> String?)

    /// The id of `record`, nil when it has none (no key, no such header).
    public func id(of record: ConsumerRecord) -> String? {
        switch self {
        case .topicPartitionOffset: return "\(record.topic)-\(record.partition)@\(record.offset)"
        case .key: return record.key.map { String(decoding: $0, as: UTF8.self) }
        case .header(let name):
            guard let h = record.headers.last(where: { $0.key == name }), let v = h.value else { return nil }
            return String(decoding: v, as: UTF8.self)
        case .custom(let f): return f(record)
        }
    }
}

/// A failure of the idempotent consumer.
public struct IdempotencyError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// SQLite failed; busy/locked is retriable.
        case database
        /// The consumer (poll, commit, seek) failed.
        case client
        /// The handler threw for `record` (its writes and id were rolled back).
        case handler
        /// The record has no id under the strategy (no key, no such header): a poison message.
        case missingId
        /// A bad table name or scope.
        case invalidConfiguration
    }

    public var code: Code
    public var message: String
    public var isRetriable: Bool
    /// The record concerned (`.handler`, `.missingId`).
    public var record: ConsumerRecord?
    /// What the handler threw (`.handler`).
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, isRetriable: Bool = false, record: ConsumerRecord? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
        self.record = record
        self.underlying = underlying
    }

    public var description: String { "idempotent consumer \(code.rawValue): \(message)" }
}

extension IdempotencyError: ClassifiedError {}

/// What one `process` call did.
public struct IdempotentBatchResult: Sendable, Hashable {
    /// Records whose handler ran and committed.
    public var processed = 0
    /// Records skipped because their id was already processed (their offsets still committed).
    public var duplicates = 0
    /// The offsets committed (next offset to read, per partition).
    public var committed: [TopicPartition: Int64] = [:]
}

/// A consumer that processes each message at most once in effect, across restarts.
///
/// Processed message ids live in a SQLite table. For each record, in **one transaction**, the
/// consumer inserts its id and runs the handler with that transaction: if the id was already
/// there the handler is skipped; if the handler throws, its writes and the id are rolled back
/// together. A handler that writes its effects through the transaction therefore applies each
/// message exactly once, however often the message is delivered. Offsets are committed after
/// the database commit: a crash in between redelivers the records, which are then skipped.
///
/// A poll batch shares one database transaction (one fsync); each record runs in its own
/// savepoint, so a failing handler undoes only its record. Processing stops at the failing
/// record: the earlier ones are committed (database and offsets), the consumer is positioned back
/// to the failed record, and the error is thrown for the caller to retry or dead-letter.
///
/// Effects outside the database (an HTTP call, a Kafka send) are not covered by the
/// transaction; make them idempotent themselves.
///
/// Ids are kept `retention` long (`deleteProcessedIds(olderThan:)`); keep it longer than any
/// redelivery can take (retry topics, a consumer down over a weekend).
public final class IdempotentConsumer: Sendable {
    public let database: SQLiteDatabase
    public let consumer: any MessageConsumer
    public let idStrategy: MessageIdStrategy
    /// Separates the ids of different handlers sharing one table (e.g. the group id).
    public let scope: String
    public let table: String
    let counts = Mutex((processed: Int64(0), duplicates: Int64(0)))

    /// - Parameters:
    ///   - scope: separates handlers sharing the table; use the consumer group's id.
    ///   - table: the processed-ids table, created when missing.
    /// - Throws: `.invalidConfiguration` for a table name that is not a plain identifier,
    ///   `.database` when the table cannot be created.
    public init(database: SQLiteDatabase, consumer: any MessageConsumer, idStrategy: MessageIdStrategy,
                scope: String = "default", table: String = "weir_processed_messages") throws(IdempotencyError) {
        guard SQLiteDatabase.isPlainIdentifier(table) else {
            throw IdempotencyError(.invalidConfiguration, "table name '\(table)' is not a plain identifier; use letters, digits and '_'.")
        }
        self.database = database
        self.consumer = consumer
        self.idStrategy = idStrategy
        self.scope = scope
        self.table = table
        do {
            try database.execute("""
                CREATE TABLE IF NOT EXISTS \(table) (
                    scope TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    processed_at INTEGER NOT NULL,
                    PRIMARY KEY (scope, message_id)) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS \(table)_age ON \(table) (processed_at);
                """)
        } catch {
            throw IdempotencyError(.database, "cannot create the table '\(table)': \(error.message)", isRetriable: error.isRetriable)
        }
    }

    /// Records processed and duplicates skipped since this consumer was made.
    public var statistics: (processed: Int64, duplicates: Int64) { counts.withLock { $0 } }

    /// Polls once and processes what arrived (see `process`).
    public func pollAndProcess(timeout: Duration, _ handler: (ConsumerRecord, SQLiteTransaction) throws -> Void) async throws(IdempotencyError) -> IdempotentBatchResult {
        let records: [ConsumerRecord]
        do { records = try await consumer.poll(timeout: timeout) } catch {
            throw IdempotencyError(.client, "poll failed: \(error.message)", isRetriable: error.isRetriable)
        }
        return try await process(records, handler)
    }

    /// Processes `records` (from one poll of `consumer`) in one database transaction, each in a
    /// savepoint: inserts its id and runs `handler` with the transaction, or skips it when the id
    /// was processed before. Then commits the offsets of the records processed or skipped.
    ///
    /// - Throws: `.handler` with the failing record (earlier records are committed; the consumer
    ///   is positioned back at the failed record and the later ones), `.missingId` likewise for
    ///   a record without an id, `.database` when the transaction fails (nothing committed;
    ///   positions moved back), `.client` when the offset commit fails (the database commit
    ///   stands; a redelivery is skipped).
    @discardableResult
    public func process(_ records: [ConsumerRecord], _ handler: (ConsumerRecord, SQLiteTransaction) throws -> Void) async throws(IdempotencyError) -> IdempotentBatchResult {
        guard !records.isEmpty else { return IdempotentBatchResult() }
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let scope = self.scope, table = self.table, strategy = self.idStrategy
        // Done: how many leading records were handled; the failure stops the batch.
        let outcome: Result<(done: Int, duplicates: Int, failure: IdempotencyError?), SQLiteTransactionError<Never>> = Result {
            () throws(SQLiteTransactionError<Never>) in
            try database.transaction { (tx) -> (done: Int, duplicates: Int, failure: IdempotencyError?) in
                var done = 0, duplicates = 0
                for r in records {
                    guard let id = strategy.id(of: r) else {
                        return (done, duplicates, IdempotencyError(.missingId, "record \(r.topic)-\(r.partition)@\(r.offset) has no message id under \(strategy); send it to the dead-letter topic or fix the producer.", record: r))
                    }
                    do throws(SQLiteTransactionError<_HandlerFailure>) {
                        let fresh = try tx.savepoint("weir_message") { () throws(_HandlerFailure) -> Bool in
                            let inserted: Int
                            do { inserted = try tx.run("INSERT OR IGNORE INTO \(table) (scope, message_id, processed_at) VALUES (?, ?, ?)", [.text(scope), .text(id), .integer(now)]) } catch {
                                throw _HandlerFailure(error: error, isDatabase: true)
                            }
                            guard inserted == 1 else { return false }
                            do { try handler(r, tx) } catch { throw _HandlerFailure(error: error, isDatabase: false) }
                            return true
                        }
                        if !fresh { duplicates += 1 }
                        done += 1
                    } catch {
                        let (cause, isDatabase): (any Error, Bool) = switch error {
                        case .sqlite(let e): (e, true)
                        case .body(let f): (f.error, f.isDatabase)
                        }
                        let retriable = (cause as? any ClassifiedError)?.isRetriable ?? (cause as? SQLiteError)?.isRetriable ?? false
                        let failure = IdempotencyError(isDatabase ? .database : .handler,
                                                       "\(isDatabase ? "recording" : "handling") \(r.topic)-\(r.partition)@\(r.offset) (id \(id)) failed: \(cause); it was rolled back and will be delivered again.",
                                                       isRetriable: retriable, record: r, underlying: cause)
                        return (done, duplicates, failure)
                    }
                }
                return (done, duplicates, nil)
            }
        }
        let done: Int, duplicates: Int, failure: IdempotencyError?
        switch outcome {
        case .success(let o): (done, duplicates, failure) = o
        case .failure(let e):
            (done, duplicates) = (0, 0)
            let sqlite: SQLiteError? = if case .sqlite(let s) = e { s } else { nil }
            failure = IdempotencyError(.database, "the transaction of \(records.count) record(s) failed: \(e); nothing was committed, they will be delivered again.", isRetriable: sqlite?.isRetriable ?? false)
        }
        counts.withLock {
            $0.processed += Int64(done - duplicates)
            $0.duplicates += Int64(duplicates)
        }
        var result = IdempotentBatchResult(processed: done - duplicates, duplicates: duplicates)
        for r in records.prefix(done) {
            result.committed[r.topicPartition] = max(result.committed[r.topicPartition] ?? 0, r.offset + 1)
        }
        if !result.committed.isEmpty {
            do { try await consumer.commit(result.committed) } catch {
                throw IdempotencyError(.client, "the offset commit failed after the database commit: \(error.message); the records will be delivered again and skipped.", isRetriable: error.isRetriable)
            }
        }
        if let failure {
            // Position every partition back at its first record not handled.
            var firstUnhandled: [TopicPartition: Int64] = [:]
            for r in records.dropFirst(done) where firstUnhandled[r.topicPartition] == nil { firstUnhandled[r.topicPartition] = r.offset }
            for (tp, offset) in firstUnhandled {
                do { try await consumer.seek(tp, to: offset) } catch {
                    throw IdempotencyError(.client, "cannot seek \(tp) back to \(offset) after a failure (\(failure.message)): \(error.message)", isRetriable: error.isRetriable)
                }
            }
            throw failure
        }
        return result
    }

    /// Whether `id` was processed (in this consumer's scope).
    public func isProcessed(_ id: String) throws(IdempotencyError) -> Bool {
        do {
            return try !database.query("SELECT 1 FROM \(table) WHERE scope = ? AND message_id = ?", [.text(scope), .text(id)]).isEmpty
        } catch {
            throw IdempotencyError(.database, "cannot read the processed ids: \(error.message)", isRetriable: error.isRetriable)
        }
    }

    /// Retention: deletes the ids (of every scope) processed more than `age` ago. Returns how many.
    @discardableResult
    public func deleteProcessedIds(olderThan age: Duration) throws(IdempotencyError) -> Int {
        let cutoff = Int64((Date().timeIntervalSince1970 * 1000).rounded()) - OutboxStore.millis(age)
        do {
            return try database.run("DELETE FROM \(table) WHERE processed_at <= ?", [.integer(cutoff)])
        } catch {
            throw IdempotencyError(.database, "cannot delete old processed ids: \(error.message)", isRetriable: error.isRetriable)
        }
    }
}

/// A handler or id-insert failure inside a savepoint.
struct _HandlerFailure: Error {
    var error: any Error
    var isDatabase: Bool
}
