import ArgumentParser
import WeirBench

extension BenchCommand {
    struct Compression: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every codec and level on one payload through producer, log and consumer: ratio, producer and consumer MB/s, CPU s/GB, p99 publish latency.")

        @Option(help: "A payload file (default: generated JSON-like text that compresses about 4×). A file over 64 KiB with newlines is one payload per line.")
        var payloadFile: String?

        @Option(help: "Seconds per codec.")
        var seconds: Double = 5

        @OptionGroup var options: BenchCommand.RunOptions

        func run() async throws {
            var base = Workload()
            base.name = "compression"
            base.partitionsPerTopic = 4
            base.producerRate = 0
            base.payload = .text
            base.compressionRatio = 4
            base.warmupSeconds = 1
            base.durationSeconds = seconds
            base.config = ["linger.ms": "5", "batch.size": "131072"]
            if let payloadFile {
                try bench { () throws(BenchError) in try CompressionBench.apply(payloadFile: payloadFile, to: &base) }
            }
            let steps = try bench { () throws(BenchError) in try options.overrides(CompressionBench.steps(base: base)) }
            let codecs = try bench { () throws(BenchError) in try CompressionBench.codecFigures(for: base) }
            let quiet = options.quiet
            let run = BenchRun(name: "compression", steps: steps, progress: { line in if !quiet { printError(line) } }, makeClient: try options.clientFactory())
            let (summary, results) = try await bench { () async throws(BenchError) in try await run.run() }
            let dir = options.out ?? defaultRunDirectory(preset: "compression")
            try bench { () throws(BenchError) in _ = try RunWriter.write(summary, results: results, to: dir) }
            print(CompressionBench.table(summary, codecs: codecs))
            print("wrote \(dir)/ (summary.json, report.html, …)")
        }
    }
}

extension BenchCommand {
    struct Micro: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the generator's hot paths: clock read, recording one latency sample, null-backend records/s.")

        func run() async throws {
            let figures = try await bench { () async throws(BenchError) in try await Microbenchmarks.run() }
            for f in figures where !f.name.isEmpty {
                let rate = f.nanosPerOperation > 0 ? String(format: "%12.0f /s", 1e9 / f.nanosPerOperation) : ""
                let target = f.target.map { String(format: "target ≤ %.0f ns: ", $0) + (f.nanosPerOperation <= $0 ? "met" : "NOT met") } ?? ""
                print(f.name.padding(toLength: 58, withPad: " ", startingAt: 0) + String(format: "%8.1f ns  ", f.nanosPerOperation) + rate + "  " + target)
            }
        }
    }
}
