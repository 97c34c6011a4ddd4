public import ArgumentParser
import Foundation
import WeirClient
import WeirLog
import WeirPatterns

/// `weir example NAME`: runs one pattern's example program on a fresh embedded log.
public struct ExampleCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "example",
        abstract: "Run a pattern's example program (event sourcing, outbox, retry/DLQ, …) on a fresh embedded log.",
        discussion: "Without NAME, lists the examples. The log and the example's SQLite files go to a temporary directory, removed afterwards, unless --log-dir is given.")

    @Argument(help: "The example to run; omit to list them.")
    var name: String?
    @Option(name: .customLong("log-dir"), help: "Keep the log (and the example's files) in this directory instead of a temporary one.")
    var logDir: String?

    public init() {}

    public func run() async throws {
        guard let name else {
            for e in PatternExample.all { print("\(e.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(e.summary)") }
            return
        }
        guard let example = PatternExample.named(name) else {
            throw CLIError.usage("unknown example '\(name)'; allowed: \(PatternExample.all.map(\.name).joined(separator: ", ")).")
        }
        let base = logDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("weir-example-\(name)-\(UUID().uuidString)").path
        defer { if logDir == nil { try? FileManager.default.removeItem(atPath: base) } }
        let work = base + "/example-files"
        do { try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true) } catch {
            throw CLIError.failure("cannot create '\(work)': \(error.localizedDescription)")
        }
        let log = try TopicsCommand.open(base + "/log")
        defer { try? log.close() }
        do {
            try await example.run(EmbeddedMessaging(logDirectory: log), work) { line in print(line) }
        } catch {
            throw CLIError.failure("example \(name) failed: \(error)")
        }
    }
}
