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
        var base = KafkaConfiguration.environmentProperties()
        if let configFile {
            do { base.merge(try KafkaConfiguration.load(file: configFile)) { _, new in new } } catch {
                throw .usage("--config-file: \(error.message)")
            }
        }
        let fixed = base
        let bootstrap = bootstrapServers
        return ["kafka": { (w: Workload) async throws(BenchError) -> any BenchBackend in
            var props = fixed.merging(w.config) { _, new in new }
            if let bootstrap { props["bootstrap.servers"] = bootstrap }
            return try KafkaBenchBackend(properties: props)
        }]
    }
}
