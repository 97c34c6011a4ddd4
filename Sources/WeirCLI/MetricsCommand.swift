public import ArgumentParser
import Foundation
import WeirLog
import WeirPatterns

/// `weir metrics`: a Prometheus exposition of a log directory.
public struct MetricsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Prometheus metrics of a log directory: print once, write to a file, or serve GET /metrics.",
        discussion: """
            Gauges: weir_log_start_offset, weir_log_end_offset, weir_log_disk_bytes, weir_log_segments \
            per topic and partition; weir_consumer_lag per group, topic and partition; \
            weir_consumer_group_lag and weir_consumer_group_members per group; \
            weir_log_directory_free_bytes; weir_log_directory_in_use.

            Each exposition opens the directory only for the moment it reads it, then closes it. When \
            another process owns the directory, only what its files show is exported (disk bytes and \
            segments per partition, weir_log_directory_in_use 1): an application's own metrics \
            (weir_producer_*, weir_consumer_*) are served from inside it with PrometheusExporter and \
            MetricsHTTPServer.

            Without --listen, prints one exposition (or writes it to --output FILE, atomically, for a \
            node-exporter textfile collector) and exits. With --listen HOST:PORT, serves GET /metrics \
            until SIGINT or SIGTERM, then stops cleanly.

            Exit codes: 0 success, 1 the address or file cannot be used, 2 usage errors.
            """)

    @Option(help: "Serve GET /metrics on this IPv4 address and port, e.g. 127.0.0.1:9464.")
    var listen: String?
    @Flag(help: "Print one exposition and exit (the default without --listen).")
    var once = false
    @Option(help: "Write one exposition to this file and exit.")
    var output: String?
    @OptionGroup var dir: TopicsCommand.LogDirOption

    public init() {}

    public func run() async throws {
        if listen != nil && (once || output != nil) {
            throw CLIError.usage("--listen serves until interrupted; drop --once / --output, or drop --listen to write one exposition.")
        }
        let path = dir.logDir
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError.failure("log directory '\(path)' does not exist; pass --log-dir.")
        }
        let exporter = PrometheusExporter()
        let collector = LogDirectoryMetrics(registry: exporter.registry)
        let render: @Sendable () -> String = {
            Self.refresh(collector, path: path)
            return exporter.render()
        }
        if let listen {
            let address: (host: String, port: UInt16)
            do { address = try MetricsHTTPServer.parseAddress(listen) } catch { throw CLIError.usage("--listen: \(error.message)") }
            let server = MetricsHTTPServer(host: address.host, port: address.port, render: render)
            let port: UInt16
            do { port = try server.start() } catch { throw CLIError.failure(error.message) }
            do {
                try await GracefulShutdownSignals.run([server], whenTrapped: {
                    printError("serving http://\(address.host):\(port)/metrics (stop with Ctrl-C)")
                })
            } catch {
                throw CLIError.failure("the metrics server stopped: \(error)")
            }
            return
        }
        let text = render()
        if let output {
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic) } catch {
                throw CLIError.failure("cannot write --output '\(output)': \(error.localizedDescription)")
            }
        } else {
            print(text, terminator: "")
        }
    }

    /// Opens the directory when no one owns it, else reads what the files show.
    static func refresh(_ collector: LogDirectoryMetrics, path: String) {
        if case .held = HealthChecks.lockState(ofLogDirectory: path) {
            collector.updateFromFiles(path: path)
            return
        }
        guard let log = try? LogDirectory.open(path: path, options: LogDirectory.Options(maintenanceIntervalMs: nil)) else {
            collector.updateFromFiles(path: path)
            return
        }
        collector.update(log)
        try? log.close()
    }
}
