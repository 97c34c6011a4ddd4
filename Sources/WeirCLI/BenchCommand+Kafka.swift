import WeirBench
import WeirKafka

extension BenchCommand.RunOptions {
    /// The `kafka` backend for `BenchRun`, with this command's `--bootstrap-servers`,
    /// `--config-file` and `WEIR_KAFKA_<PROPERTY>` environment variables.
    ///
    /// Precedence, lowest first: environment, properties file, the workload's config (preset and
    /// `--config`), `--bootstrap-servers`. Properties from the file and the environment stay out
    /// of `summary.json` (they may be secrets); `--config` values are recorded with the run.
    func kafkaBackendFactories() throws(CLIError) -> [String: @Sendable (Workload) async throws(BenchError) -> any BenchBackend] {
        let fixed = try KafkaCLIConfiguration.secretProperties(configFile: configFile)
        let bootstrap = bootstrapServers
        return ["kafka": { (w: Workload) async throws(BenchError) -> any BenchBackend in
            try KafkaBenchBackend(properties: KafkaCLIConfiguration.merge(secrets: fixed, config: w.config, bootstrapServers: bootstrap))
        }]
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
