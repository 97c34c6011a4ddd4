import ArgumentParser
import WeirBench

extension BenchCommand {
    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge run directories of workers that ran one benchmark together into one run directory.",
            discussion: """
            Latency histograms are merged exactly from each run's interval logs (*.hlog); counts, bytes, \
            errors and CPU time are summed and rates added. The runs must have the same steps. \
            End-to-end latency across hosts depends on the hosts' clock sync; the merge says so when the \
            runs came from several hosts. Exit code 2 for fewer than two runs or runs of different steps.
            """)

        @Argument(help: "Run directories (each with summary.json, intervals.csv and *.hlog).")
        var runs: [String]

        @Option(help: "Directory for the merged run (default results/runs/<timestamp>-merged).")
        var out: String?

        func run() async throws {
            let (summary, results, notes) = try bench { () throws(BenchError) in try RunMerge.merge(directories: runs) }
            for n in notes { printError("note: " + n) }
            let dir = out ?? defaultRunDirectory(preset: "merged")
            try bench { () throws(BenchError) in _ = try RunWriter.write(summary, results: results, to: dir) }
            print(SummaryTable.render(summary))
            print("wrote \(dir)/ (merged from \(runs.count) runs)")
        }
    }
}
