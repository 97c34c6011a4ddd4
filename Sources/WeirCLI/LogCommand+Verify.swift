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
            let report: LogVerifier.Report
            do {
                report = try LogVerifier.verify(directory: dir)
            } catch {
                throw CLIError.usage(error.message)
            }
            print(report.description)
            if !report.isValid {
                throw CLIError(message: "\(report.problems.count) problem(s) in \(dir)", exitCode: 1)
            }
        }
    }
}
