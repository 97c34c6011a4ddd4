import Foundation
import Testing
import WeirPatterns

@Suite struct SQLiteDatabaseTests {
    static func tempPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("weir-sqlite-\(UUID().uuidString).db").path
    }

    struct Boom: Error {}

    @Test func transactionCommitsOrRollsBack() throws {
        let path = Self.tempPath()
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let db = try SQLiteDatabase(path: path)
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, data BLOB)")
        let id = try db.transaction { (tx) throws(SQLiteError) -> Int64 in
            try tx.run("INSERT INTO t (name, data) VALUES (?, ?)", [.text("a"), .blob([1, 2, 3])])
            return tx.lastInsertRowID
        }
        #expect(id == 1)
        #expect(throws: SQLiteTransactionError<Boom>.self) {
            try db.transaction { (tx) throws(Boom) in
                _ = try? tx.run("INSERT INTO t (name) VALUES (?)", [.text("b")])
                throw Boom()
            }
        }
        let rows = try db.query("SELECT id, name, data FROM t ORDER BY id")
        #expect(rows.count == 1)
        #expect(rows[0]["name"].string == "a" && rows[0]["data"].bytes == [1, 2, 3])
        do {
            try db.run("INSERT INTO t (name) VALUES (?)", [.text("a")])
            Issue.record("duplicate accepted")
        } catch {
            #expect(error.isConstraintViolation)
        }
        db.close()
        let again = try SQLiteDatabase(path: path)
        #expect(try again.query("SELECT count(*) AS n FROM t")[0]["n"].int64 == 1)
    }

    @Test func wrongParameterCountIsAnError() throws {
        let path = Self.tempPath()
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let db = try SQLiteDatabase(path: path)
        try db.execute("CREATE TABLE t (a INTEGER)")
        #expect(throws: SQLiteError.self) { try db.run("INSERT INTO t VALUES (?)", []) }
        #expect(throws: SQLiteError.self) { _ = try SQLiteDatabase(path: "/nonexistent-dir/x.db") }
    }
}
