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
    @Option(help: "Backend: embedded (default) or kafka (a cluster through librdkafka).")
    var backend: String?
    @Option(help: "Kafka backend: bootstrap.servers, HOST:PORT[,HOST:PORT] or mock:N; implies --backend kafka.")
    var bootstrapServers: String?
    @Flag(help: "Kafka backend on librdkafka's in-process mock cluster (3 brokers); implies --backend kafka.")
    var mockCluster = false
    @Option(name: .customLong("config"), help: ArgumentHelp("Kafka backend: a librdkafka property for every client, e.g. --config acks=all.", valueName: "key=value"))
    var configs: [String] = []
    @Option(help: "Kafka backend: a Java-properties file of librdkafka properties (secrets; ${ENV_VAR} expanded).")
    var configFile: String?

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
            print("kafka: \(bootstrapDescription) (librdkafka \(KafkaClusterMetadata.librdkafkaVersion))")
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

    /// Whether the options select the kafka backend; usage errors for contradictions.
    func useKafka() throws(CLIError) -> Bool {
        let implied = bootstrapServers != nil || mockCluster
        switch backend {
        case nil: break
        case "embedded":
            if implied { throw .usage("--bootstrap-servers and --mock-cluster need --backend kafka; drop --backend embedded.") }
            if !configs.isEmpty || configFile != nil { throw .usage("--config and --config-file configure the kafka backend; add --backend kafka.") }
            return false
        case "kafka": break
        case let other?: throw .usage("unknown backend '\(other)'; allowed: embedded, kafka.")
        }
        if bootstrapServers != nil && mockCluster {
            throw .usage("give either --bootstrap-servers or --mock-cluster, not both.")
        }
        if backend == "kafka" && !implied {
            throw .usage("--backend kafka needs --bootstrap-servers HOST:PORT (or --mock-cluster for librdkafka's in-process mock cluster).")
        }
        return backend == "kafka" || implied
    }

    var bootstrapDescription: String { mockCluster ? "mock:3" : bootstrapServers ?? "" }

    /// The cluster from the options, with the same property precedence as `weir bench run`.
    func kafkaClient() throws(CLIError) -> KafkaMessaging {
        let config: [String: String]
        do { config = try TopicsCommand.parseConfigs(configs) } catch let error as CLIError { throw error } catch {
            throw .usage("--config: \(error)")
        }
        let props = KafkaCLIConfiguration.merge(secrets: try KafkaCLIConfiguration.secretProperties(configFile: configFile),
                                                config: config, bootstrapServers: bootstrapDescription)
        do {
            return try KafkaMessaging(configuration: KafkaConfiguration(props))
        } catch {
            throw error.code == .invalidConfig ? .usage("--config: \(error.message)") : .failure("kafka: \(error.message)")
        }
    }
}
