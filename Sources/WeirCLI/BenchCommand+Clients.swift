import WeirBench
import WeirClient
import WeirKafka

extension BenchCommand.RunOptions {
    /// The client of each step, by its `backend`: `embedded` (the log in `logDir`, or a fresh
    /// temporary directory removed after the step), `null` (the generator's ceiling) or `kafka`
    /// (a cluster through librdkafka, with this command's `--bootstrap-servers`,
    /// `--config-file` and `WEIR_KAFKA_<PROPERTY>` environment variables).
    ///
    /// The workload's `config` (preset and `--config`) goes to the step's producers, consumers
    /// and topics, split by the load generator. For kafka, every client also gets, lowest
    /// first: the environment, the properties file, `--bootstrap-servers` (or a
    /// `bootstrap.servers` of the workload). Properties from the file and the environment stay
    /// out of `summary.json` (they may be secrets); `--config` values are recorded with the run.
    func clientFactory() throws(CLIError) -> BenchRun.ClientFactory {
        let fixed = try KafkaCLIConfiguration.secretProperties(configFile: configFile)
        let bootstrap = bootstrapServers
        return { (w: Workload) async throws(BenchError) -> any MessagingClient in
            switch w.backend {
            case "null":
                return NullClient()
            case let name where name.hasPrefix(MachineBaseline.backendPrefix):
                return try MachineBaseline.client(for: w)
            case "embedded":
                do throws(ClientError) {
                    return try EmbeddedMessaging.open(path: w.logDir)
                } catch {
                    throw BenchError(.backend, error.message)
                }
            case "kafka":
                // Connection properties only: the rest of the workload's config is split by the
                // generator (a topic property must not reach librdkafka).
                var base = fixed
                for key in ["bootstrap.servers", "test.mock.num.brokers"] { if let v = w.config[key] { base[key] = v } }
                let props = KafkaCLIConfiguration.merge(secrets: base, config: [:], bootstrapServers: bootstrap)
                guard props["bootstrap.servers"] != nil || props["test.mock.num.brokers"] != nil else {
                    throw .usage("the kafka backend needs bootstrap.servers: --bootstrap-servers HOST:PORT[,HOST:PORT] (or mock:3 for librdkafka's in-process mock cluster).")
                }
                do throws(ClientError) {
                    return try KafkaMessaging(configuration: KafkaConfiguration(props))
                } catch {
                    throw error.code == .invalidConfig ? .usage("--config: \(error.message)") : BenchError(.backend, "kafka: \(error.message)")
                }
            default:
                throw .usage("backend: '\(w.backend)' is not valid; allowed: \(Workload.backends.joined(separator: ", ")).")
            }
        }
    }
}

/// One way for every command to build Kafka properties from its options: `WEIR_KAFKA_<PROPERTY>`
/// environment variables, then `--config-file` (a Java-properties file, `${ENV_VAR}` expanded),
/// then `--config key=value`, then `--bootstrap-servers`.
enum KafkaCLIConfiguration {
    /// The properties that may be secrets: the environment's, then the file's.
    static func secretProperties(configFile: String?) throws(CLIError) -> [String: String] {
        var base = KafkaConfiguration.environmentProperties()
        if let configFile {
            do { base.merge(try KafkaConfiguration.load(file: configFile)) { _, new in new } } catch {
                throw .usage("--config-file: \(error.message)")
            }
        }
        return base
    }

    /// `secrets` with `config` on top, and `bootstrapServers` on top of both.
    static func merge(secrets: [String: String], config: [String: String], bootstrapServers: String?) -> [String: String] {
        var props = secrets.merging(config) { _, new in new }
        if let bootstrapServers { props["bootstrap.servers"] = bootstrapServers }
        return props
    }
}
