public import ArgumentParser
import Foundation
import WeirPatterns

/// `weir outbox status`: the relay's lag in an application's outbox table.
public struct OutboxCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Inspect a transactional outbox (an OutboxStore table in a SQLite database).",
        subcommands: [Status.self]
    )

    public init() {}

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unpublished rows (the relay's lag), the oldest one's age, and published rows kept by retention.",
            discussion: "Exit 1 when the database or the table does not exist.")
        @Option(help: "The application's SQLite database file.")
        var db: String
        @Option(help: "The outbox table.")
        var table = "weir_outbox"
        @Flag(help: "One JSON object.")
        var json = false

        func run() async throws {
            guard FileManager.default.fileExists(atPath: db) else {
                throw CLIError.failure("no database at '\(db)'; pass the application's SQLite file with --db.")
            }
            guard SQLiteDatabase.isPlainIdentifier(table) else {
                throw CLIError.usage("--table '\(table)' is not a plain identifier; use letters, digits and '_'.")
            }
            let status: OutboxStatus
            do {
                let database = try SQLiteDatabase(path: db)
                defer { database.close() }
                guard try !database.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(table)]).isEmpty else {
                    throw CLIError.failure("'\(db)' has no table '\(table)'; pass the outbox table with --table.")
                }
                status = try OutboxStore(database: database, table: table).status()
            } catch let e as CLIError {
                throw e
            } catch {
                throw CLIError.failure("cannot read the outbox in '\(db)': \(error)")
            }
            if json {
                var j = JSONLine()
                j.add("table", table)
                j.add("unpublished", status.unpublished)
                j.add("oldestUnpublishedAgeMs", status.oldestUnpublishedAgeMillis)
                j.add("published", status.published)
                print(j.line)
            } else {
                print("\(table): \(status.unpublished) unpublished (oldest \(status.oldestUnpublishedAgeMillis) ms old), \(status.published) published kept by retention")
            }
        }
    }
}
