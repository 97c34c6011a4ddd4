public import ArgumentParser
import Foundation
import WeirBench
import WeirCompression

/// `weir bench`: run benchmark presets and codec comparisons.
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run benchmark presets and compare codecs.",
        subcommands: [List.self, Run.self, Compression.self]
    )

    public init() {}

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the benchmark presets.")

        func run() async throws {
            for preset in CorePreset.all {
                print("\(preset.name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(preset.summary)")
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a benchmark preset and write its report.")

        @Argument(help: "The preset to run (see `weir bench list`).")
        var preset: String

        @Option(help: "Directory for the run's files (default results/runs/<timestamp>-<preset>).")
        var out: String?

        func run() async throws {
            guard let preset = CorePreset.named(preset) else {
                throw CLIError.usage(
                    "unknown preset '\(self.preset)'; run `weir bench list` for the presets: "
                        + CorePreset.all.map(\.name).joined(separator: ", "))
            }
            let dir = out ?? defaultRunDirectory(preset: preset.name)
            let report = try preset.run(progress: { line in printError(line) })
            try writeReport(report, to: dir)
            print(report.table())
            print("wrote \(dir)/summary.json")
        }
    }

    struct Compression: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare every codec and level on one payload: ratio and MB/s.")

        @Option(help: "A payload file to compress (default: 1 MiB of generated JSON-like events).")
        var payloadFile: String?

        @Option(help: "Repeats per measurement; the median is reported.")
        var repeats: Int = 5

        @Option(help: "Also write the payload to this file, to compare with other tools (e.g. `lz4 -b1 FILE`).")
        var savePayload: String?

        func run() async throws {
            guard repeats >= 1 else { throw CLIError.usage("--repeats must be at least 1") }
            let payload: [UInt8]
            if let payloadFile {
                guard let data = FileManager.default.contents(atPath: payloadFile) else {
                    throw CLIError.usage("cannot read --payload-file '\(payloadFile)'; give a readable file")
                }
                payload = [UInt8](data)
            } else {
                var gen = PayloadGenerator()
                payload = gen.jsonLike(1 << 20)
            }
            if let savePayload {
                do {
                    try Data(payload).write(to: URL(fileURLWithPath: savePayload))
                } catch {
                    throw CLIError.failure("cannot write --save-payload '\(savePayload)': \(error.localizedDescription)")
                }
            }
            let results = try CodecComparison(repeats: repeats).run(payload: payload)
            print(CodecComparison.table(results))
        }
    }
}

func defaultRunDirectory(preset: String) -> String {
    let f = DateFormatter()
    f.dateFormat = "yyyyMMdd-HHmmss"
    f.timeZone = TimeZone(identifier: "UTC")
    return "results/runs/\(f.string(from: Date()))-\(preset)"
}

func writeReport(_ report: CoreReport, to dir: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: dir + "/summary.json"))
    } catch {
        throw CLIError.failure("cannot write the report to '\(dir)': \(error.localizedDescription)")
    }
}
