import Foundation
import Synchronization
public import WeirFormat

/// A failure of the outbox (store or relay): a code, a message that says what happened and what
/// to do, and whether the same call may succeed later.
public typealias OutboxError = PatternError<OutboxErrorCode>

/// What kind of outbox failure an `OutboxError` is.
public enum OutboxErrorCode: String, PatternErrorCode {
    /// SQLite failed (see `message`); busy/locked is retriable.
    case database
    /// Publishing failed (see `message`); retriable when the client says so.
    case publish
    /// A bad argument or configuration (a table name, producer properties).
    case invalidConfiguration
    /// The fault-injection hook stopped the relay between publish and mark (tests).
    case relayCrashed
    /// The relay was stopped or crashed; make a new one.
    case relayStopped

    public static var descriptionPrefix: String { "outbox " }
}

extension PatternError where C == OutboxErrorCode {
    init(_ error: SQLiteError, doing what: String) {
        self.init(.database, "\(what): \(error.message)" + (error.isRetriable ? "; another connection holds the lock, retry." : "; check the database file."), isRetriable: error.isRetriable)
    }
}

/// One row of the outbox: a record to publish for an aggregate.
public struct OutboxMessage: Sendable, Hashable {
    /// The row id: increasing, the publication order within an aggregate.
    public var id: Int64
    public var aggregateId: String
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [RecordHeader]
    /// When the row was written (ms since the epoch).
    public var createdAtMillis: Int64
}

/// What an outbox holds: the relay's lag.
public struct OutboxStatus: Sendable, Hashable, Codable {
    /// Rows not yet published (the relay's lag).
    public var unpublished: Int
    /// Age of the oldest unpublished row in milliseconds (0 when there is none).
    public var oldestUnpublishedAgeMillis: Int64
    /// Published rows not yet removed by retention.
    public var published: Int
}

/// The transactional outbox, in an application's SQLite database.
///
/// The application writes its entity row and the outbox row in **one** transaction, so the event
/// exists exactly when the state change does:
///
/// ```swift
/// try db.transaction { tx in
///     try tx.run("INSERT INTO orders (id, total) VALUES (?, ?)", [.text(id), .integer(total)])
///     try outbox.write(in: tx, aggregateId: id, topic: "shop.order.created", key: nil, value: event)
/// }
/// ```
///
/// An `OutboxRelay` publishes the rows in order per aggregate and marks them published. Each
/// published record carries the header `outbox-id` (`<source>:<row id>`), the same on every
/// republication, which an `IdempotentConsumer` with `.header("outbox-id")` uses to drop the
/// duplicates of at-least-once delivery.
public final class OutboxStore: Sendable {
    /// The header carrying the row's stable message id (`<source>:<row id>`).
    public static let idHeader = "outbox-id"
    /// The header carrying the row's aggregate id.
    public static let aggregateHeader = "outbox-aggregate-id"

    public let database: SQLiteDatabase
    /// The outbox table.
    public let table: String
    /// The prefix of message ids: unique per outbox (default: the table and database file name).
    public let source: String
    let _notifier = _OutboxNotifier()

    /// Opens the outbox table in `database`, creating it when missing.
    ///
    /// - Throws: `.invalidConfiguration` for a table name that is not a plain identifier,
    ///   `.database` when the schema cannot be created.
    public init(database: SQLiteDatabase, table: String = "weir_outbox", source: String? = nil) throws(OutboxError) {
        guard SQLiteDatabase.isPlainIdentifier(table) else {
            throw OutboxError(.invalidConfiguration, "outbox table name '\(table)' is not a plain identifier; use letters, digits and '_'.")
        }
        self.database = database
        self.table = table
        self.source = source ?? "\(URL(fileURLWithPath: database.path).lastPathComponent)/\(table)"
        do {
            try database.execute("""
                CREATE TABLE IF NOT EXISTS \(table) (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    aggregate_id TEXT NOT NULL,
                    topic TEXT NOT NULL,
                    key BLOB,
                    value BLOB,
                    headers BLOB,
                    created_at INTEGER NOT NULL,
                    published_at INTEGER);
                CREATE INDEX IF NOT EXISTS \(table)_pending ON \(table) (id) WHERE published_at IS NULL;
                CREATE INDEX IF NOT EXISTS \(table)_published ON \(table) (published_at) WHERE published_at IS NOT NULL;
                """)
        } catch {
            throw OutboxError(error, doing: "cannot create the outbox table '\(table)'")
        }
    }

    /// Writes one outbox row inside the application's transaction `tx` (from
    /// `database.transaction`), next to the entity rows it describes. Returns the row id.
    ///
    /// The row becomes visible to the relay when the transaction commits; a rolled-back
    /// transaction leaves no row. A nil `key` publishes with the aggregate id as key, so that an
    /// aggregate's records stay in one partition, in order.
    @discardableResult
    public func write(in tx: SQLiteTransaction, aggregateId: String, topic: String, key: [UInt8]?, value: [UInt8]?,
                      headers: [RecordHeader] = []) throws(SQLiteError) -> Int64 {
        try tx.run("INSERT INTO \(table) (aggregate_id, topic, key, value, headers, created_at) VALUES (?, ?, ?, ?, ?, ?)", [
            .text(aggregateId), .text(topic), key.map { .blob($0) } ?? .null, value.map { .blob($0) } ?? .null,
            headers.isEmpty ? .null : .blob(Self.encode(headers)), .integer(Self.nowMillis()),
        ])
        // A relay sharing this `SQLiteDatabase` wakes now; its query waits for the connection,
        // that is, until this transaction committed or rolled back.
        _notifier.signal()
        return tx.lastInsertRowID
    }

    /// The stable message id of row `id`, the value of the `outbox-id` header.
    public func messageId(_ id: Int64) -> String { "\(source):\(id)" }

    /// The oldest unpublished rows, at most `limit`, in row order.
    public func pending(limit: Int) throws(OutboxError) -> [OutboxMessage] {
        let rows: [SQLiteRow]
        do {
            rows = try database.query("SELECT id, aggregate_id, topic, key, value, headers, created_at FROM \(table) WHERE published_at IS NULL ORDER BY id LIMIT ?", [.integer(Int64(limit))])
        } catch {
            throw OutboxError(error, doing: "cannot read unpublished outbox rows")
        }
        return rows.map { r in
            OutboxMessage(id: r[0].int64 ?? 0, aggregateId: r[1].string ?? "", topic: r[2].string ?? "",
                          key: r[3].isNull ? nil : r[3].bytes, value: r[4].isNull ? nil : r[4].bytes,
                          headers: r[5].bytes.map(Self.decode) ?? [], createdAtMillis: r[6].int64 ?? 0)
        }
    }

    /// Marks rows published (one transaction).
    public func markPublished(_ ids: [Int64]) throws(OutboxError) {
        guard !ids.isEmpty else { return }
        let now = Self.nowMillis()
        do {
            try database.transaction { (tx) throws(SQLiteError) in
                for id in ids { try tx.run("UPDATE \(table) SET published_at = ? WHERE id = ?", [.integer(now), .integer(id)]) }
            }
        } catch {
            let e: SQLiteError = switch error {
            case .sqlite(let e), .body(let e): e
            }
            throw OutboxError(e, doing: "cannot mark \(ids.count) outbox row(s) published (they will be published again)")
        }
    }

    /// The unpublished count (the relay's lag) and the age of the oldest unpublished row.
    public func status() throws(OutboxError) -> OutboxStatus {
        do {
            let p = try database.query("SELECT count(*), min(created_at) FROM \(table) WHERE published_at IS NULL")
            let d = try database.query("SELECT count(*) FROM \(table) WHERE published_at IS NOT NULL")
            let oldest = p[0][1].int64
            return OutboxStatus(unpublished: Int(p[0][0].int64 ?? 0),
                                oldestUnpublishedAgeMillis: oldest.map { max(0, Self.nowMillis() - $0) } ?? 0,
                                published: Int(d[0][0].int64 ?? 0))
        } catch {
            throw OutboxError(error, doing: "cannot read the outbox status")
        }
    }

    /// Retention: deletes rows published more than `age` ago. Returns how many. Unpublished rows
    /// are never deleted.
    @discardableResult
    public func deletePublished(olderThan age: Duration) throws(OutboxError) -> Int {
        let cutoff = Self.nowMillis() - Self.millis(age)
        do {
            return try database.run("DELETE FROM \(table) WHERE published_at IS NOT NULL AND published_at <= ?", [.integer(cutoff)])
        } catch {
            throw OutboxError(error, doing: "cannot delete published outbox rows")
        }
    }

    // MARK: - Helpers

    static func nowMillis() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    static func millis(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    /// Headers as stored: per header a big-endian u32 key length, the UTF-8 key, a big-endian
    /// i32 value length (-1 = null) and the value.
    static func encode(_ headers: [RecordHeader]) -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { out.append(contentsOf: [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]) }
        for h in headers {
            let k = Array(h.key.utf8)
            u32(UInt32(k.count))
            out.append(contentsOf: k)
            if let v = h.value {
                u32(UInt32(v.count))
                out.append(contentsOf: v)
            } else {
                u32(UInt32(bitPattern: -1))
            }
        }
        return out
    }

    static func decode(_ bytes: [UInt8]) -> [RecordHeader] {
        var out: [RecordHeader] = []
        var i = 0
        func u32() -> UInt32? {
            guard i + 4 <= bytes.count else { return nil }
            defer { i += 4 }
            return UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
        }
        while i < bytes.count {
            guard let kl = u32(), i + Int(kl) <= bytes.count else { break }
            let key = String(decoding: bytes[i..<i + Int(kl)], as: UTF8.self)
            i += Int(kl)
            guard let vl = u32() else { break }
            if Int32(bitPattern: vl) < 0 {
                out.append(RecordHeader(key: key, value: nil))
            } else {
                guard i + Int(vl) <= bytes.count else { break }
                out.append(RecordHeader(key: key, value: Array(bytes[i..<i + Int(vl)])))
                i += Int(vl)
            }
        }
        return out
    }
}

/// Wakes a waiting relay after a write: one pending flag and at most one waiter.
final class _OutboxNotifier: Sendable {
    let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.pending = true
            return nil
        }
        w?.resume()
    }

    /// Returns after a `signal` (or at once when one is pending), or after `timeout`.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let now = self.state.withLock { s -> Bool in
                        if s.pending {
                            s.pending = false
                            return true
                        }
                        s.waiter?.resume()
                        s.waiter = c
                        return false
                    }
                    if now { c.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                // Wakes the waiter (a spurious pending flag at worst costs one empty round).
                self.signal()
            }
            await group.next()
            group.cancelAll()
            await group.next()
            self.state.withLock { $0.pending = false }
        }
    }
}
