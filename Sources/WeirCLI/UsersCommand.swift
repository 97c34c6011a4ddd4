public import ArgumentParser
import Foundation
import WeirServer

/// `weir users`: the SASL users of `weir serve` (PLAIN and SCRAM-SHA-256/512).
public struct UsersCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Manage the SASL users of weir serve (stored as SCRAM credentials in sasl-users.json under the log directory).",
        subcommands: [Add.self, List.self, Remove.self])

    public init() {}

    static func store(_ path: String) throws -> SaslUserStore {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        do { return try SaslUserStore(directoryPath: path) } catch { throw CLIError.failure(error.message) }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user or replace its password.")
        @Argument(help: "The user name (the principal is User:NAME).") var name: String
        @Option(help: "The password (or set WEIR_USER_PASSWORD).") var password: String?
        @Option(help: "SCRAM iterations (4096 by default, as Kafka's).") var iterations: Int = 4096
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func run() async throws {
            guard let pw = password ?? ProcessInfo.processInfo.environment["WEIR_USER_PASSWORD"], !pw.isEmpty else {
                throw CLIError.usage("give the password with --password or WEIR_USER_PASSWORD.")
            }
            guard (4096...1_000_000).contains(iterations) else { throw CLIError.usage("--iterations must be in 4096...1000000.") }
            do { try UsersCommand.store(dir.logDir).add(name, password: pw, iterations: iterations) } catch let e as SaslError {
                throw CLIError.usage(e.message)
            }
            print("added User:\(name) (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users.")
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func run() async throws {
            for n in try UsersCommand.store(dir.logDir).names { print(n) }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user.")
        @Argument var name: String
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func run() async throws {
            let removed: Bool
            let store = try UsersCommand.store(dir.logDir)
            do throws(SaslError) { removed = try store.remove(name) } catch { throw CLIError.failure(error.message) }
            guard removed else { throw CLIError.failure("no user '\(name)'; see weir users list.") }
            print("removed User:\(name)")
        }
    }
}
