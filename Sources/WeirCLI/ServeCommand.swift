public import ArgumentParser
import Foundation
import NIOSSL
import WeirLog
import WeirPatterns
import WeirServer

/// `weir serve`: the Kafka wire protocol over the embedded log, for any Kafka client.
public struct ServeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the Kafka protocol over a log directory (a single-node broker for development, CI and benchmarks).",
        discussion: """
            Any Kafka client (librdkafka/kcat, confluent-kafka, kafka-python, aiokafka, the JVM \
            client, sarama, kafka-go) can produce, consume, commit and run consumer groups against \
            the log directory: the same segments, group coordinator and offsets as the embedded client. \
            See docs/serve.md for the supported APIs and versions.

            Listens on 127.0.0.1:9092 by default (loopback only). --listen 127.0.0.1:0 picks a free \
            port; the line "listening on HOST:PORT" on stdout tells which. SIGINT or SIGTERM stop it \
            cleanly: in-flight requests are answered, then the log is closed.

            Broker properties (--config): auto.create.topics.enable (true), num.partitions (1), \
            socket.request.max.bytes (104857600), node.id (0), cluster.id, weir.zero.copy.fetch (true).

            Exit codes: 0 after a clean shutdown, 1 the address or directory cannot be used, 2 usage errors.
            """)

    @OptionGroup var dir: TopicsCommand.LogDirOption
    @Option(help: "The address to listen on, HOST:PORT (port 0 picks a free one).")
    var listen: String = "127.0.0.1:9092"
    @Option(name: .customLong("advertised-listener"), help: "HOST:PORT clients are told to connect to (default: the listen address).")
    var advertisedListener: String?
    @Option(name: .customLong("config"), help: "A broker property, key=value (repeatable).")
    var configs: [String] = []
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve TLS instead of plaintext.")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.")
    var tlsKey: String?
    @Option(name: .customLong("sasl-mechanisms"), help: "Require SASL: a comma-separated list of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (users: weir users add).")
    var saslMechanisms: String?
    @Option(name: .customLong("metrics-listen"), help: "Also serve GET /metrics (Prometheus) on HOST:PORT.")
    var metricsListen: String?

    public init() {}

    static func parseHostPort(_ text: String, _ flag: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw CLIError.usage("\(flag) '\(text)' is not HOST:PORT with a port in 0...65535.")
        }
        let host = String(text[..<colon])
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    public func run() async throws {
        let (host, port) = try Self.parseHostPort(listen, "--listen")
        var config = BrokerConfiguration()
        for kv in configs {
            guard let eq = kv.firstIndex(of: "=") else { throw CLIError.usage("--config '\(kv)' is not key=value.") }
            do { try config.apply(String(kv[..<eq]), String(kv[kv.index(after: eq)...])) } catch {
                throw CLIError.usage("--config: \(error.message)")
            }
        }
        var advertised: (String, Int)? = nil
        if let a = advertisedListener { advertised = try Self.parseHostPort(a, "--advertised-listener") }
        var tls: NIOSSLContext? = nil
        switch (tlsCert, tlsKey) {
        case (nil, nil): break
        case (let cert?, let key?):
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
                let tlsConfig = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                tls = try NIOSSLContext(configuration: tlsConfig)
            } catch {
                throw CLIError.failure("cannot load --tls-cert '\(cert)' / --tls-key '\(key)': \(error)")
            }
        default:
            throw CLIError.usage("--tls-cert and --tls-key go together.")
        }
        let log: LogDirectory
        do {
            log = try LogDirectory.open(path: dir.logDir)
        } catch {
            throw CLIError.failure("cannot open log directory '\(dir.logDir)': \(error.message)")
        }
        var sasl: SaslConfiguration? = nil
        if let list = saslMechanisms {
            var ms: [SaslUserStore.Mechanism] = []
            for name in list.split(separator: ",") {
                guard let m = SaslUserStore.Mechanism(rawValue: name.trimmingCharacters(in: .whitespaces).uppercased()) else {
                    try? log.close()
                    throw CLIError.usage("--sasl-mechanisms: unknown mechanism '\(name)'; use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512.")
                }
                ms.append(m)
            }
            do { sasl = SaslConfiguration(mechanisms: ms, store: try SaslUserStore(directoryPath: dir.logDir)) } catch {
                try? log.close()
                throw CLIError.failure(error.message)
            }
        }
        let broker = KafkaBroker(directory: log, configuration: config)
        let server = KafkaServer(broker: broker, tls: tls, sasl: sasl, threads: 2)
        let bound: Int
        do { bound = try await server.start(host: host, port: port) } catch {
            try? log.close()
            throw CLIError.failure("cannot listen on \(host):\(port): \(error)")
        }
        broker.setAdvertised(host: advertised?.0 ?? (host == "0.0.0.0" ? "127.0.0.1" : host), port: Int32(advertised?.1 ?? bound))
        var metricsServer: MetricsHTTPServer? = nil
        if let m = metricsListen {
            let address: (host: String, port: UInt16)
            do { address = try MetricsHTTPServer.parseAddress(m) } catch { throw CLIError.usage("--metrics-listen: \(error.message)") }
            let exporter = PrometheusExporter()
            let collector = LogDirectoryMetrics(registry: exporter.registry)
            let s = MetricsHTTPServer(host: address.host, port: address.port) {
                collector.update(log)
                return exporter.render() + server.prometheusText()
            }
            do { _ = try s.start() } catch { throw CLIError.failure(error.message) }
            metricsServer = s
        }
        await GracefulShutdownSignals.withSignals { request in
            // Said once the signals are trapped: a SIGTERM sent on this line stops the server cleanly.
            FileHandle.standardOutput.write(Data("listening on \(host):\(bound) (log directory \(dir.logDir))\n".utf8))
            while !request.isRequested {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        metricsServer?.stop()
        await server.shutdown()
        do { try log.close() } catch {
            throw CLIError.failure("closing the log directory failed: \(error.message)")
        }
        printError("weir serve: stopped cleanly")
    }
}
