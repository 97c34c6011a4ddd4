import ArgumentParser
import WeirBench

extension BenchCommand {
    struct Compare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare runs against a baseline: a table, exit 0 within thresholds, 2 on a regression, 4 on improvements only.",
            discussion: """
            BASE and CURRENT are summary.json files or directories of repeated runs (every summary.json under them). \
            With repeats, medians are compared and a change counts only when the two sets' ranges do not overlap. \
            Thresholds: metric=+N% when higher is worse (p99=+10%), metric=-N% when lower is worse (records_per_sec=-5%). \
            Default: records_per_sec=-5%, consume_records_per_sec=-5%, p99=+10%, e2e_p99=+10%.
            """)

        @Argument(help: "The baseline: a summary.json or a directory of runs.")
        var base: String

        @Argument(help: "The current results: a summary.json or a directory of runs.")
        var current: String

        @Option(name: .customLong("threshold"), help: ArgumentHelp("metric=±N%, e.g. p99=+10% or records_per_sec=-5% (repeatable).", valueName: "metric=±N%"))
        var thresholds: [String] = []

        func run() async throws {
            let ts = try bench { () throws(BenchError) in try thresholds.map { (t) throws(BenchError) in try WeirBench.Compare.Threshold(parsing: t) } }
            let b = try bench { () throws(BenchError) in try WeirBench.Compare.loadSet(base) }
            let c = try bench { () throws(BenchError) in try WeirBench.Compare.loadSet(current) }
            let result = WeirBench.Compare.compare(base: b, current: c, thresholds: ts, basePath: base)
            print(result.table())
            if result.rows.isEmpty {
                throw CLIError.usage("no step of BASE appears in CURRENT with the compared metrics; compare runs of the same preset.")
            }
            if result.exitCode != 0 { throw ExitCode(result.exitCode) }
        }
    }
}
