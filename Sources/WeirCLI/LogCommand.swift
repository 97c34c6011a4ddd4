public import ArgumentParser
import Foundation

/// `weir log`: inspect and check segment logs.
public struct LogCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Inspect, verify and write the embedded segment log.",
        subcommands: [Dump.self, Verify.self, Append.self]
    )

    public init() {}
}

/// `--log-dir`, defaulting to `$WEIR_LOG_DIR` or `./weir-data`.
func defaultLogDirectory() -> String {
    ProcessInfo.processInfo.environment["WEIR_LOG_DIR"] ?? "./weir-data"
}
