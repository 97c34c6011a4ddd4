import CSQLite
import Foundation
import Synchronization

/// An error from SQLite: the result code, SQLite's own message and the statement concerned.
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// SQLite's primary result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT`, …).
    public var code: Int32
    /// SQLite's message (`sqlite3_errmsg`) and what Weir was doing.
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// A busy or locked database: the same call may succeed later.
    public var isRetriable: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }
    /// A UNIQUE, PRIMARY KEY, CHECK or NOT NULL constraint failed.
    public var isConstraintViolation: Bool { code == SQLITE_CONSTRAINT }

    public var description: String { "SQLite error \(code): \(message)" }
}

/// A value bound to or read from a statement.
public enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public var int64: Int64? { if case .integer(let v) = self { v } else { nil } }
    public var string: String? { if case .text(let v) = self { v } else { nil } }
    public var bytes: [UInt8]? {
        switch self {
        case .blob(let v): v
        case .text(let s): Array(s.utf8)
        default: nil
        }
    }
    public var double: Double? {
        switch self {
        case .real(let v): v
        case .integer(let v): Double(v)
        default: nil
        }
    }
    public var isNull: Bool { self == .null }
}

/// One result row: values by column index, and the column names.
public struct SQLiteRow: Sendable, Hashable {
    public var columns: [String]
    public var values: [SQLiteValue]

    public subscript(_ index: Int) -> SQLiteValue { values[index] }
    /// The value of the column named `name` (`.null` when there is none).
    public subscript(_ name: String) -> SQLiteValue {
        guard let i = columns.firstIndex(of: name) else { return .null }
        return values[i]
    }
}

/// One SQLite database file, opened in WAL mode with `synchronous=FULL`: a committed
/// transaction survives a process crash and a power loss.
///
/// All calls are serialised by a mutex, so one `SQLiteDatabase` may be shared between tasks.
/// `transaction { db in … }` runs its body in `BEGIN IMMEDIATE … COMMIT` (rolled back when the
/// body throws): the unit in which the outbox writes an entity and its outbox row, and the
/// idempotent consumer marks a message id together with the handler's own writes.
public final class SQLiteDatabase: Sendable {
    /// The database file.
    public let path: String
    let _handle: Mutex<_Handle>

    final class _Handle: @unchecked Sendable {
        var db: OpaquePointer?
        var statements: [String: OpaquePointer] = [:]
        init(_ db: OpaquePointer?) { self.db = db }
    }

    /// Opens (creating when missing) the database at `path`.
    ///
    /// - Parameter busyTimeoutMs: how long a call waits for another connection's lock
    ///   (`PRAGMA busy_timeout`).
    public init(path: String, busyTimeoutMs: Int32 = 5000) throws(SQLiteError) {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw SQLiteError(code: rc, message: "cannot open '\(path)': \(msg); check that the directory exists and is writable.")
        }
        sqlite3_busy_timeout(db, busyTimeoutMs)
        _handle = Mutex(_Handle(db))
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=FULL")
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit {
        _handle.withLock { h in Self._close(h) }
    }

    static func _close(_ h: _Handle) {
        for (_, s) in h.statements { sqlite3_finalize(s) }
        h.statements = [:]
        if let db = h.db { sqlite3_close_v2(db) }
        h.db = nil
    }

    /// Closes the database; later calls fail.
    public func close() {
        _handle.withLock { h in Self._close(h) }
    }

    /// Runs one or more statements without parameters or results (DDL, PRAGMA).
    public func execute(_ sql: String) throws(SQLiteError) {
        try _handle.withLock { (h) throws(SQLiteError) in try Self._execute(h, sql, path: path) }
    }

    /// Runs a statement with `?` parameters; returns the number of rows it changed.
    @discardableResult
    public func run(_ sql: String, _ parameters: [SQLiteValue] = []) throws(SQLiteError) -> Int {
        try _handle.withLock { (h) throws(SQLiteError) in try Self._run(h, sql, parameters, path: path) }
    }

    /// Runs a query with `?` parameters and returns its rows.
    public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws(SQLiteError) -> [SQLiteRow] {
        try _handle.withLock { (h) throws(SQLiteError) in try Self._query(h, sql, parameters, path: path) }
    }

    /// Runs `body` in one transaction (`BEGIN IMMEDIATE`, so writers never deadlock on lock
    /// upgrade): committed when it returns, rolled back when it throws. The connection is held
    /// for the whole body, so no other caller's statements interleave; run the transaction's
    /// statements through the `SQLiteTransaction` it is given.
    public func transaction<T, E: Error>(_ body: (SQLiteTransaction) throws(E) -> T) throws(SQLiteTransactionError<E>) -> T {
        let r: Result<T, SQLiteTransactionError<E>> = _handle.withLock { h in
            do throws(SQLiteError) { try Self._execute(h, "BEGIN IMMEDIATE", path: path) } catch { return .failure(.sqlite(error)) }
            let tx = SQLiteTransaction(h, path: path)
            let result: T
            do throws(E) {
                result = try body(tx)
            } catch {
                try? Self._execute(h, "ROLLBACK", path: path)
                return .failure(.body(error))
            }
            do throws(SQLiteError) { try Self._execute(h, "COMMIT", path: path) } catch {
                try? Self._execute(h, "ROLLBACK", path: path)
                return .failure(.sqlite(error))
            }
            return .success(result)
        }
        return try r.get()
    }

    // MARK: - Internals

    static func _closed(_ path: String) -> SQLiteError {
        SQLiteError(code: SQLITE_MISUSE, message: "database '\(path)' is closed; open a new SQLiteDatabase.")
    }

    static func _error(_ db: OpaquePointer?, _ rc: Int32, _ sql: String) -> SQLiteError {
        let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "closed"
        return SQLiteError(code: rc & 0xff, message: "\(msg) (in: \(sql.prefix(120)))")
    }

    static func _execute(_ h: _Handle, _ sql: String, path: String) throws(SQLiteError) {
        guard let db = h.db else { throw _closed(path) }
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(err)
            throw SQLiteError(code: rc & 0xff, message: "\(msg) (in: \(sql.prefix(120)))")
        }
    }

    static func _run(_ h: _Handle, _ sql: String, _ parameters: [SQLiteValue], path: String) throws(SQLiteError) -> Int {
        let stmt = try _prepare(h, sql, path: path)
        defer { sqlite3_reset(stmt); sqlite3_clear_bindings(stmt) }
        try _bind(stmt, parameters, db: h.db, sql: sql)
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            if rc == SQLITE_ROW { continue }
            throw _error(h.db, rc, sql)
        }
        return Int(sqlite3_changes(h.db))
    }

    static func _query(_ h: _Handle, _ sql: String, _ parameters: [SQLiteValue], path: String) throws(SQLiteError) -> [SQLiteRow] {
        let stmt = try _prepare(h, sql, path: path)
        defer { sqlite3_reset(stmt); sqlite3_clear_bindings(stmt) }
        try _bind(stmt, parameters, db: h.db, sql: sql)
        let n = sqlite3_column_count(stmt)
        let names = (0..<n).map { String(cString: sqlite3_column_name(stmt, $0)) }
        var rows: [SQLiteRow] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw _error(h.db, rc, sql) }
            var values: [SQLiteValue] = []
            values.reserveCapacity(Int(n))
            for i in 0..<n { values.append(_column(stmt, i)) }
            rows.append(SQLiteRow(columns: names, values: values))
        }
        return rows
    }

    static func _prepare(_ h: _Handle, _ sql: String, path: String) throws(SQLiteError) -> OpaquePointer {
        guard let db = h.db else { throw _closed(path) }
        if let s = h.statements[sql] { return s }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw _error(db, rc, sql) }
        h.statements[sql] = stmt
        return stmt
    }

    /// SQLite copies bound text and blobs at bind time (`SQLITE_TRANSIENT`).
    static let _transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    static func _bind(_ stmt: OpaquePointer, _ parameters: [SQLiteValue], db: OpaquePointer?, sql: String) throws(SQLiteError) {
        let expected = Int(sqlite3_bind_parameter_count(stmt))
        guard expected == parameters.count else {
            throw SQLiteError(code: SQLITE_RANGE, message: "statement takes \(expected) parameter(s), given \(parameters.count) (in: \(sql.prefix(120)))")
        }
        for (i, v) in parameters.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch v {
            case .null: rc = sqlite3_bind_null(stmt, idx)
            case .integer(let n): rc = sqlite3_bind_int64(stmt, idx, n)
            case .real(let d): rc = sqlite3_bind_double(stmt, idx, d)
            case .text(let s): rc = sqlite3_bind_text(stmt, idx, s, -1, _transient)
            case .blob(let b):
                rc = b.withUnsafeBytes { raw in
                    sqlite3_bind_blob(stmt, idx, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), _transient)
                }
            }
            guard rc == SQLITE_OK else { throw _error(db, rc, sql) }
        }
    }

    static func _column(_ stmt: OpaquePointer, _ i: Int32) -> SQLiteValue {
        switch sqlite3_column_type(stmt, i) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(stmt, i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(stmt, i))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(stmt, i)))
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(stmt, i))
            guard n > 0, let p = sqlite3_column_blob(stmt, i) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
        default: return .null
        }
    }
}

/// A failed `SQLiteDatabase.transaction`: SQLite itself failed, or the body threw.
public enum SQLiteTransactionError<Body: Error>: Error, CustomStringConvertible {
    case sqlite(SQLiteError)
    case body(Body)

    public var description: String {
        switch self {
        case .sqlite(let e): e.description
        case .body(let e): "\(e)"
        }
    }
}

extension SQLiteTransactionError: Sendable where Body: Sendable {}

/// The statements of one `SQLiteDatabase.transaction`: valid only inside its body, which holds
/// the connection.
public struct SQLiteTransaction {
    let _h: SQLiteDatabase._Handle
    let _path: String

    init(_ h: SQLiteDatabase._Handle, path: String) {
        _h = h
        _path = path
    }

    /// Runs a statement with `?` parameters; returns the number of rows it changed.
    @discardableResult
    public func run(_ sql: String, _ parameters: [SQLiteValue] = []) throws(SQLiteError) -> Int {
        try SQLiteDatabase._run(_h, sql, parameters, path: _path)
    }

    /// Runs a query with `?` parameters and returns its rows.
    public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws(SQLiteError) -> [SQLiteRow] {
        try SQLiteDatabase._query(_h, sql, parameters, path: _path)
    }

    /// The rowid of the last row this transaction inserted.
    public var lastInsertRowID: Int64 { _h.db.map { sqlite3_last_insert_rowid($0) } ?? 0 }
}

extension SQLiteTransaction {
    /// Runs `body` inside a savepoint of this transaction (`SAVEPOINT … RELEASE`): when it throws,
    /// only its own statements are undone (`ROLLBACK TO`), and the transaction goes on. The
    /// idempotent consumer runs each message of a poll batch in one, so a failing handler undoes
    /// its message alone while the batch shares one commit (one fsync).
    public func savepoint<T, E: Error>(_ name: String = "weir_savepoint", _ body: () throws(E) -> T) throws(SQLiteTransactionError<E>) -> T {
        do throws(SQLiteError) { try run("SAVEPOINT \(name)") } catch { throw .sqlite(error) }
        let result: T
        do throws(E) {
            result = try body()
        } catch {
            _ = try? run("ROLLBACK TO \(name)")
            _ = try? run("RELEASE \(name)")
            throw .body(error)
        }
        do throws(SQLiteError) { try run("RELEASE \(name)") } catch { throw .sqlite(error) }
        return result
    }
}

extension SQLiteDatabase {
    /// Checks that `name` is a plain SQL identifier (letters, digits, `_`, not starting with a
    /// digit), for table names the pattern components take from their callers.
    public static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}
