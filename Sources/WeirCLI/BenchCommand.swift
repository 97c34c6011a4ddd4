public import ArgumentParser
import Foundation
import WeirBench
import WeirClientAPI
import WeirCompression
import WeirLog
import WeirPatterns

/// `weir bench`: presets, workloads, reports, comparisons, codec comparisons and sweeps.
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run benchmark presets and workloads, write and compare reports.",
        subcommands: [List.self, Run.self, Produce.self, Consume.self, Report.self, Compare.self, Merge.self, Compression.self, Sweep.self, Micro.self]
    )

    public init() {}

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the benchmark presets, one line each.")

        @Flag(help: "Also list the workload fields that files and --set accept.")
        var fields = false

        func run() async throws {
            for preset in Preset.all {
                print("\(preset.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(preset.summary)")
            }
            if fields {
                print("\nworkload fields (YAML/JSON files, --set key=value):")
                PropertyListing.table(Workload.table.rows).forEach { print($0) }
                print("\nconfig keys (`config` in files, --config key=value), by where they go:")
                for (scope, title) in [(ClientProperties.Scope.producer, "producers"), (.consumer, "consumers"),
                                       (.client, "producers and consumers"),
                                       (.topic, "topics (a producer key too with the prefix topic.; the last ones only on a cluster)")] {
                    print("  \(title):")
                    PropertyListing.table(ClientProperties.rows.filter { $0.scope == scope }, indent: "    ").forEach { print($0) }
                }
                print("  any other key: to producers and consumers of the kafka backend (librdkafka's own properties)")
            }
        }
    }

    /// Options every running subcommand shares.
    struct RunOptions: ParsableArguments {
        @Option(name: .customLong("set"), help: ArgumentHelp("Override a workload field, e.g. --set producerRate=50000 (`weir bench list --fields` lists the \(Workload.table.specs.count) fields with their defaults and ranges).", valueName: "key=value"))
        var sets: [String] = []

        @Option(help: "Total records per second over all producers (0 = max rate); wins over --set producerRate=N. \(PropertyListing.allowed(Workload.table, "producerRate"))")
        var rate: Double?

        @Option(help: "Measured seconds per step; wins over --set durationSeconds=N. \(PropertyListing.allowed(Workload.table, "durationSeconds"))")
        var duration: Double?

        @Option(help: "Warmup seconds per step (excluded from every statistic). \(PropertyListing.allowed(Workload.table, "warmupSeconds"))")
        var warmup: Double?

        @Option(help: "Stop each step after this many records instead of a duration. \(PropertyListing.allowed(Workload.table, "records"))")
        var records: Int?

        /// `--backend`, `--bootstrap-servers`, `--mock-cluster`, `--config`, `--config-file`:
        /// declared once for every command that picks a backend.
        @OptionGroup var backendOptions: KafkaBackendOptions

        @Option(help: "Log directory for the embedded backend (kept); default a fresh temporary directory, removed after.")
        var logDir: String?

        @Option(help: "Directory for the run's files (default results/runs/<timestamp>-<name>).")
        var out: String?

        @Option(help: "An OpenMessaging Benchmark driver file (driver-kafka/*.yaml): its commonConfig, producerConfig, consumerConfig and topicConfig become the run's Kafka properties (--config still wins); fields that do not apply to the backend are reported.")
        var driver: String?

        @Option(help: "Also write OMB's result JSON (TestResult: rates in rec/s, latencies in ms, publish delay in µs) to this file; with several steps, FILE-<step>.json each.")
        var ombResult: String?

        @Option(help: "Serve the run's live metrics (rates, latency percentiles per interval, errors, host steal) in Prometheus format on GET /metrics at this IPv4 address and port while it runs, e.g. 127.0.0.1:9465.")
        var metricsListen: String?

        @Flag(help: "No live lines.")
        var quiet = false

        /// Applies `--driver` to resolved steps: the file's properties under each step's own
        /// (so the workload's `config` and `--config` win), notes printed once.
        func applyDriver(_ steps: [Workload]) throws(CLIError) -> [Workload] {
            guard let driver else { return steps }
            let file = try bench { () throws(BenchError) in try OMBDriverFile.load(path: driver) }
            var out = steps
            var printed = Set<String>()
            for i in out.indices {
                let (config, notes) = file.resolved(for: out[i].backend)
                out[i].config = config.merging(out[i].config) { _, own in own }
                for note in notes where printed.insert(note).inserted { printError("--driver \(driver): \(note)") }
            }
            return out
        }

        var configs: [String] { backendOptions.configs }
        var configFile: String? { backendOptions.configFile }
        var bootstrapServers: String? { backendOptions.mockCluster ? "mock:3" : backendOptions.bootstrapServers }

        /// `--set` and `--config` on each step, then the typed flags (`--rate`, `--duration`,
        /// `--warmup`, `--records`, `--backend`, `--log-dir`) as the values they already are,
        /// then each step is validated.
        func overrides(_ steps: [Workload]) throws(BenchError) -> [Workload] {
            var out = try BenchRun.applyOverrides(steps, set: sets, config: configs)
            for i in out.indices {
                if let rate { out[i].producerRate = rate }
                if let duration { out[i].durationSeconds = duration }
                if let warmup { out[i].warmupSeconds = warmup }
                if let records { out[i].records = records }
                if let backend = backendOptions.backend { out[i].backend = backend } else if bootstrapServers != nil { out[i].backend = "kafka" }
                if let logDir { out[i].logDir = logDir }
                try out[i].validate()
            }
            return out
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a preset or a workload file and write its run directory.",
            discussion: "Writes summary.json, intervals.csv, latency.csv, *.hgrm and report.html. Exit code 2 for a bad preset, workload file, flag or config key.")

        @Argument(help: "The preset to run (see `weir bench list`), or a workload file's path.")
        var preset: String?

        @Option(help: "A workload file (YAML or JSON; OMB field names accepted).")
        var workload: String?

        @OptionGroup var options: RunOptions

        // Issue 19 (bench): several workers.
        @Option(help: "Run the I-th of N shares of the workload's producers and consumers (0-based), e.g. --worker 0/2 and --worker 1/2 on two hosts against one cluster; merge the runs with `weir bench merge`. End-to-end latency then uses the record timestamp (wall clock, ms).")
        var worker: String?

        @Option(name: .customLong("run-id"), help: "Name this run's consumer groups (weir-bench-group-G.TOPIC.ID) instead of a fresh random name; the workers of one run with consumers must share one, e.g. --run-id $(date +%s).")
        var runID: String?

        func run() async throws {
            let name: String
            let steps: [Workload]
            // A path in the preset's place is a workload file (as OMB takes its workloads), unless
            // --workload names one too: then the "not both" error below applies.
            let isPath = preset.map { Preset.named($0) == nil && FileManager.default.fileExists(atPath: $0) } ?? false
            let (preset, workload) = isPath && self.workload == nil ? (nil, preset) : (self.preset, self.workload)
            switch (preset, workload) {
            case (let p?, nil):
                guard let found = Preset.named(p) else {
                    throw CLIError.usage("unknown preset '\(p)'; run `weir bench list`. Presets: \(Preset.all.map(\.name).joined(separator: ", ")).")
                }
                name = found.name
                steps = found.steps
            case (nil, let file?):
                steps = try bench { () throws(BenchError) in try WorkloadFile.load(path: file) }
                name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
            case (nil, nil):
                throw CLIError.usage("give a preset (`weir bench list`) or --workload FILE.")
            case (.some, .some):
                throw CLIError.usage("give either a preset or --workload FILE, not both.")
            }
            var resolved = try options.applyDriver(try bench { () throws(BenchError) in try options.overrides(steps) })
            if let worker {
                let share = try bench { () throws(BenchError) in try WorkerShare.parse(worker) }
                for i in resolved.indices { resolved[i].worker = share }
            }
            if let runID {
                for i in resolved.indices { resolved[i].runID = runID }
            }
            try await runAndWrite(name: name, steps: resolved, options: options)
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Render one HTML report comparing run directories in one chart.")

        @Argument(help: "Run directories (each with summary.json, latency.csv, intervals.csv).")
        var runs: [String]

        @Option(help: "The HTML file to write.")
        var out: String = "report.html"

        func run() async throws {
            guard !runs.isEmpty else { throw CLIError.usage("give at least one run directory.") }
            let html = try bench { () throws(BenchError) in
                try HTMLReport.render(runs: try runs.map { (d) throws(BenchError) in try HTMLReport.RunData.read(directory: d) })
            }
            do { try html.write(toFile: out, atomically: true, encoding: .utf8) } catch {
                throw CLIError.failure("cannot write '\(out)': \(error.localizedDescription)")
            }
            print("wrote \(out)")
        }
    }
}

/// Runs steps, prints live lines and the table, writes the run directory.
func runAndWrite(name: String, steps: [Workload], options: BenchCommand.RunOptions) async throws {
    let quiet = options.quiet
    var run = BenchRun(name: name, steps: steps, progress: { line in if !quiet { printError(line) } }, makeClient: try options.clientFactory())
    var server: MetricsHTTPServer?
    if let listen = options.metricsListen {
        let address: (host: String, port: UInt16)
        do { address = try MetricsHTTPServer.parseAddress(listen) } catch { throw CLIError.usage("--metrics-listen: \(error.message)") }
        let live = LiveMetrics()
        let s = MetricsHTTPServer(host: address.host, port: address.port, render: { live.render() })
        let port: UInt16
        do { port = try s.start() } catch { throw CLIError.failure("--metrics-listen: \(error.message)") }
        printError("serving live metrics on http://\(address.host):\(port)/metrics while the run goes")
        run.live = live
        server = s
    }
    defer { server?.stop() }
    let (summary, results) = try await bench { () async throws(BenchError) in try await run.run() }
    let dir = options.out ?? defaultRunDirectory(preset: name)
    try bench { () throws(BenchError) in _ = try RunWriter.write(summary, results: results, to: dir) }
    if let path = options.ombResult {
        for r in results {
            var file = path
            if results.count > 1 {
                let url = URL(fileURLWithPath: path)
                let ext = url.pathExtension.isEmpty ? "json" : url.pathExtension
                file = url.deletingPathExtension().path + "-" + RunWriter.fileSafe(r.summary.name) + "." + ext
            }
            let json = try bench { () throws(BenchError) in try OMBResult(r, driver: options.driver.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }).json() }
            do { try json.write(toFile: file, atomically: true, encoding: .utf8) } catch {
                throw CLIError.failure("--omb-result: cannot write '\(file)': \(error.localizedDescription)")
            }
        }
    }
    print(SummaryTable.render(summary))
    print("wrote \(dir)/ (summary.json, intervals.csv, latency.csv, *.hgrm, *.hlog, omb-result.json, report.html)")
}

/// Maps a `BenchError` to the CLI's exit codes (2 usage, 1 failure).
func bench<R>(_ body: () throws(BenchError) -> R) throws(CLIError) -> R {
    do { return try body() } catch {
        throw error.code == .usage ? CLIError.usage(error.message) : CLIError.failure(error.message)
    }
}

func bench<R>(_ body: () async throws(BenchError) -> R) async throws(CLIError) -> R {
    do { return try await body() } catch {
        throw error.code == .usage ? CLIError.usage(error.message) : CLIError.failure(error.message)
    }
}

func defaultRunDirectory(preset: String) -> String {
    let f = DateFormatter()
    f.dateFormat = "yyyyMMdd-HHmmss"
    f.timeZone = TimeZone(identifier: "UTC")
    return "results/runs/\(f.string(from: Date()))-\(preset)"
}
