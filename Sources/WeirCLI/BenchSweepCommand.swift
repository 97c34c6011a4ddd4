import ArgumentParser
import WeirBench

extension BenchCommand {
    struct Sweep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a grid of Kafka properties (or workload fields) and print one table with the best configuration per objective.",
            discussion: "Example: weir bench sweep --param batch.size=16384,65536,262144 --param linger.ms=0,5,20 --rate 50000")

        @Option(name: .customLong("param"), help: ArgumentHelp("key=v1,v2,… (repeatable); a workload field or a Kafka property.", valueName: "key=values"))
        var params: [String] = []

        @Option(help: "Base workload file (default: 1 topic × 4 partitions, 20k rec/s of 1 KiB, 2 s warmup, 8 s per point).")
        var workload: String?

        @OptionGroup var options: BenchCommand.RunOptions

        func run() async throws {
            let grid = try bench { () throws(BenchError) -> [Workload] in
                let parsed = try WeirBench.Sweep.parse(params)
                var base: Workload
                if let workload {
                    guard let first = try WorkloadFile.load(path: workload).first else { throw .usage("the workload file has no step.") }
                    base = first
                } else {
                    base = Workload()
                    base.partitionsPerTopic = 4
                    base.producerRate = 20_000
                    base.warmupSeconds = 2
                    base.durationSeconds = 8
                }
                base = try options.overrides([base])[0]
                return try WeirBench.Sweep.grid(base: base, params: parsed)
            }
            let steps = try options.applyDriver(grid)
            let quiet = options.quiet
            let run = BenchRun(name: "sweep", steps: steps, progress: { line in if !quiet { printError(line) } }, makeClient: try options.clientFactory())
            let (summary, results) = try await bench { () async throws(BenchError) in try await run.run() }
            let dir = options.out ?? defaultRunDirectory(preset: "sweep")
            try bench { () throws(BenchError) in _ = try RunWriter.write(summary, results: results, to: dir) }
            print(SummaryTable.render(summary))
            print(WeirBench.Sweep.best(summary))
            print("wrote \(dir)/")
        }
    }
}
