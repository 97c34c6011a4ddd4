public import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// The `weir` command line.
public struct WeirCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "weir",
        abstract: "Benchmark and load generation for Kafka-style streams, on an embedded log that writes Kafka's format.",
        version: "0.1.0",
        subcommands: [BenchCommand.self, FormatCommand.self, LogCommand.self, TopicsCommand.self, ProduceCommand.self, ConsumeCommand.self, GroupsCommand.self,
                      ExampleCommand.self, OutboxCommand.self, HealthCommand.self, MetricsCommand.self, LagCommand.self,
                      DLQCommand.self, ACLsCommand.self, KeysCommand.self, ServeCommand.self, UsersCommand.self]
    )

    public init() {}
}

extension WeirCommand {
    /// Entry point for the executable: parses the arguments, runs the chosen command and exits.
    ///
    /// Exit codes: 0 success, 1 failure (a check failed, an operation failed), 2 usage error
    /// (bad flag, bad config key or value, bad workload file).
    public static func runMain() async -> Never {
        let code = await run(arguments: Array(CommandLine.arguments.dropFirst()))
        Glibc.exit(code)
    }

    /// Runs the command line `arguments` and returns the exit code (used by tests).
    public static func run(arguments: [String]) async -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let error as CLIError {
            printError("weir: \(error.message)")
            return error.exitCode
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
                return 0
            }
            if !message.isEmpty { printError(message) }
            return code == .validationFailure ? 2 : code.rawValue
        }
    }
}

/// A command failure with its exit code: 2 for usage errors, 1 for failed operations.
public struct CLIError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var exitCode: Int32

    public static func usage(_ message: String) -> CLIError { CLIError(message: message, exitCode: 2) }
    public static func failure(_ message: String) -> CLIError { CLIError(message: message, exitCode: 1) }

    public var description: String { message }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    var text = line
    if !text.hasSuffix("\n") { text += "\n" }
    text.utf8CString.withUnsafeBufferPointer { buf in
        var offset = 0
        let count = buf.count - 1
        while offset < count {
            let n = Glibc.write(2, buf.baseAddress! + offset, count - offset)
            if n < 0 { if errno == EINTR { continue } else { return } }
            offset += n
        }
    }
}
