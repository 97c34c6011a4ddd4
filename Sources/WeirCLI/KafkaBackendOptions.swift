public import ArgumentParser
import WeirClient
import WeirKafka

/// The options that pick a command's backend, declared once for every command that has one
/// (`weir bench run/sweep/compression` too): `--backend kafka` with `--bootstrap-servers
/// HOST:PORT` (or `--mock-cluster`), Kafka properties from `--config key=value`, `--config-file`
/// and `WEIR_KAFKA_<PROPERTY>` variables, with the same precedence everywhere.
public struct KafkaBackendOptions: ParsableArguments {
    @Option(help: "Backend: embedded (default) or kafka (a cluster through librdkafka); `weir bench` also takes null (the generator's own ceiling).")
    var backend: String?
    @Option(help: "Kafka backend: bootstrap.servers, HOST:PORT[,HOST:PORT] or mock:N; implies --backend kafka.")
    var bootstrapServers: String?
    @Flag(help: "Kafka backend on librdkafka's in-process mock cluster (3 brokers); implies --backend kafka.")
    var mockCluster = false
    @Option(name: .customLong("config"), help: ArgumentHelp("A Kafka property, e.g. --config batch.size=65536. `weir bench` gives it to producers, consumers or topics by its scope (`weir bench list --fields` lists the \(ClientProperties.rows.count) keys with types, defaults and ranges; any other key goes to librdkafka); other commands give it to every client of the kafka backend.", valueName: "key=value"))
    var configs: [String] = []
    @Option(help: "Kafka backend: a Java-properties file of librdkafka properties (secrets; ${ENV_VAR} expanded). WEIR_KAFKA_<PROPERTY> variables are read too.")
    var configFile: String?

    public init() {}

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
        let config = try parseKeyValuePairs(configs)
        let props = KafkaCLIConfiguration.merge(secrets: try KafkaCLIConfiguration.secretProperties(configFile: configFile),
                                                config: config, bootstrapServers: bootstrapDescription)
        do {
            return try KafkaMessaging(configuration: KafkaConfiguration(props))
        } catch {
            throw error.code == .invalidConfig ? .usage("--config: \(error.message)") : .failure("kafka: \(error.message)")
        }
    }
}
