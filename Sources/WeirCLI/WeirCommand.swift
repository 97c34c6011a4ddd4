public import ArgumentParser

/// The `weir` command line.
public struct WeirCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "weir",
        abstract: "Benchmark and load generation for Kafka-style streams, on an embedded log that writes Kafka's format.",
        version: "0.1.0",
        subcommands: []
    )

    public init() {}
}

extension WeirCommand {
    /// Entry point for the executable: parses the arguments and runs the chosen command.
    public static func runMain() async {
        await main(nil)
    }
}
