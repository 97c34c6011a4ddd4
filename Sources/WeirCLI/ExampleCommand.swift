public import ArgumentParser
import Foundation
import WeirClient
import WeirKafka
import WeirLog
import WeirPatterns

/// `weir example NAME`: runs one pattern's example program on a fresh embedded log, or on a
/// Kafka cluster (`--backend kafka --bootstrap-servers HOST:PORT`, or `--mock-cluster`).
public struct ExampleCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "example",
        abstract: "Run a pattern's example program (event sourcing, outbox, retry/DLQ, …) on a fresh embedded log or a Kafka cluster.",
        discussion: """
            Without NAME, lists the examples. The log and the example's SQLite files go to a temporary directory, removed afterwards, unless --log-dir is given.
            With --backend kafka (implied by --bootstrap-servers or --mock-cluster) the example runs on a Kafka cluster through librdkafka: \
            properties as in `weir bench run` (--config key=value, --config-file, WEIR_KAFKA_<PROPERTY> variables). \
            --mock-cluster starts librdkafka's in-process mock cluster (3 brokers) for a self-contained demo.
            """)

    @Argument(help: "The example to run; omit to list them.")
    var name: String?
    @Option(name: .customLong("log-dir"), help: "Keep the log (and the example's files) in this directory instead of a temporary one.")
    var logDir: String?
    @OptionGroup var kafkaBackend: KafkaBackendOptions

    public init() {}

    public func run() async throws {
        guard let name else {
            for e in PatternExample.all { print("\(e.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(e.summary)") }
            return
        }
        // The backend's options first: a bad property is reported as such.
        let kafka = try useKafka() ? try kafkaClient() : nil
        guard let example = PatternExample.named(name) else {
            throw CLIError.usage("unknown example '\(name)'; allowed: \(PatternExample.all.map(\.name).joined(separator: ", ")).")
        }
        let base = logDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("weir-example-\(name)-\(UUID().uuidString)").path
        defer { if logDir == nil { try? FileManager.default.removeItem(atPath: base) } }
        let work = base + "/example-files"
        do { try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true) } catch {
            throw CLIError.failure("cannot create '\(work)': \(error.localizedDescription)")
        }
        if let client = kafka {
            print("kafka: \(kafkaBackend.bootstrapDescription) (librdkafka \(KafkaClusterMetadata.librdkafkaVersion))")
            do {
                try await example.run(client, work) { line in print(line) }
            } catch {
                throw CLIError.failure("example \(name) failed on kafka: \(error)")
            }
            return
        }
        let log = try TopicsCommand.open(base + "/log")
        defer { try? log.close() }
        do {
            try await example.run(EmbeddedMessaging(logDirectory: log), work) { line in print(line) }
        } catch {
            throw CLIError.failure("example \(name) failed: \(error)")
        }
    }

    func useKafka() throws(CLIError) -> Bool { try kafkaBackend.useKafka() }
    func kafkaClient() throws(CLIError) -> KafkaMessaging { try kafkaBackend.kafkaClient() }
}
