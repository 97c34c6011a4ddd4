import Foundation
import WeirClient

/// A read-model table of JSON documents with a primary key (`id`) and an indexed secondary key
/// (e.g. a user id): lookups by either use SQLite indexes, never a table scan.
///
/// Write through the projection's transaction (`upsert`, `delete`, `document(_:in:)`); read
/// from anywhere (`document(id:)`, `documents(secondaryKey:)`).
public struct DocumentReadModel<Document: Codable & Sendable>: Sendable {
    public let database: SQLiteDatabase
    public let table: String

    /// Opens the table (created with its secondary-key index when missing).
    public init(database: SQLiteDatabase, table: String) throws(SQLiteError) {
        self.database = database
        self.table = table
        try database.execute("""
            CREATE TABLE IF NOT EXISTS \(table) (id TEXT PRIMARY KEY, secondary_key TEXT, version INTEGER NOT NULL, document BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS \(table)_by_secondary_key ON \(table) (secondary_key);
            """)
    }

    // MARK: - Writing (inside the projection's transaction)

    /// Inserts or replaces the document `id`.
    public func upsert(_ document: Document, id: String, secondaryKey: String?, version: Int64, in tx: SQLiteTransaction) throws {
        let bytes = Array(try JSONEncoder().encode(document))
        try tx.run("INSERT INTO \(table) (id, secondary_key, version, document) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET secondary_key = excluded.secondary_key, version = excluded.version, document = excluded.document",
                   [.text(id), secondaryKey.map { .text($0) } ?? .null, .integer(version), .blob(bytes)])
    }

    public func delete(id: String, in tx: SQLiteTransaction) throws {
        try tx.run("DELETE FROM \(table) WHERE id = ?", [.text(id)])
    }

    /// The document `id` as the transaction sees it.
    public func document(_ id: String, in tx: SQLiteTransaction) throws -> Document? {
        guard let bytes = try tx.query("SELECT document FROM \(table) WHERE id = ?", [.text(id)]).first?[0].bytes else { return nil }
        return try JSONDecoder().decode(Document.self, from: Data(bytes))
    }

    // MARK: - Queries

    /// The document `id` (primary-key lookup).
    public func document(id: String) throws -> Document? {
        guard let bytes = try database.query("SELECT document FROM \(table) WHERE id = ?", [.text(id)]).first?[0].bytes else { return nil }
        return try JSONDecoder().decode(Document.self, from: Data(bytes))
    }

    /// The documents whose secondary key is `key`, by id (an index range scan).
    public func documents(secondaryKey key: String) throws -> [(id: String, document: Document)] {
        try database.query("SELECT id, document FROM \(table) WHERE secondary_key = ? ORDER BY id", [.text(key)]).map { row in
            (row[0].string ?? "", try JSONDecoder().decode(Document.self, from: Data(row[1].bytes ?? [])))
        }
    }

    /// The version of the document `id` (the aggregate version last applied), nil when absent.
    public func version(id: String) throws -> Int64? {
        try database.query("SELECT version FROM \(table) WHERE id = ?", [.text(id)]).first?[0].int64
    }

    /// SQLite's plan for the two queries (`EXPLAIN QUERY PLAN`), to check that they use the
    /// primary key and the secondary index.
    public func queryPlans() throws -> (byId: String, bySecondaryKey: String) {
        func plan(_ sql: String) throws -> String {
            try database.query("EXPLAIN QUERY PLAN " + sql, [.text("x")]).map { $0["detail"].string ?? "" }.joined(separator: "; ")
        }
        return (try plan("SELECT document FROM \(table) WHERE id = ?"), try plan("SELECT id, document FROM \(table) WHERE secondary_key = ? ORDER BY id"))
    }
}
