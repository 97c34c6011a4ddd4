import ArgumentParser
import Foundation
import WeirLog

extension LogCommand {
    /// `weir log verify`: check every segment and index of a log directory without changing it.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every segment and index of a log directory (read-only).",
            discussion: "Exits 0 when everything is valid, 1 with a report of each problem when not."
        )

        @Argument(help: "The log directory (default: $WEIR_LOG_DIR or ./weir-data).")
        var logDir: String?

        func run() async throws {
            let dir = logDir ?? defaultLogDirectory()
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw CLIError.usage("'\(dir)' is not a directory; give the log directory (--log-dir of the writer)")
            }
            let report: LogInspector.VerifyReport
            do {
                report = try LogInspector.verify(logDirectory: dir)
            } catch {
                throw CLIError.failure(error.message)
            }
            for note in report.notes { print("note: \(note)") }
            for problem in report.problems { print("INVALID \(problem)") }
            print("\(report.partitionsChecked) partitions, \(report.segmentsChecked) segments, \(report.batchesChecked) batches checked: \(report.isValid ? "valid" : "\(report.problems.count) problem(s)")")
            if !report.isValid {
                throw CLIError(message: "\(report.problems.count) problem(s) in \(dir)", exitCode: 1)
            }
        }
    }
}
