public import ArgumentParser
import WeirClient
import WeirLog
import Foundation

/// `weir topics`: create, list, describe and delete topics of the embedded log
/// (kafka-topics.sh).
public struct TopicsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Create, list, describe and delete topics in a log directory (like kafka-topics.sh).",
        subcommands: [Create.self, List.self, Describe.self, Delete.self]
    )

    public init() {}

    struct LogDirOption: ParsableArguments {
        @Option(name: .customLong("log-dir"), help: "The log directory (default: $WEIR_LOG_DIR or ./weir-data).")
        var logDir: String = defaultLogDirectory()
    }

    /// Makes a topic change in `log` as `user`: true when made, false when it failed with
    /// `tolerated` (the `--if-exists` / `--if-not-exists` case, which ends quietly); any other
    /// error is a failure (exit 1).
    static func change(
        _ log: LogDirectory, as user: UserOption, tolerating tolerated: ClientError.Code?,
        _ body: (Admin) throws(ClientError) -> Void
    ) throws(CLIError) -> Bool {
        do {
            try body(Admin(logDirectory: log, principal: user.principal))
            return true
        } catch where tolerated != nil && error.code == tolerated {
            return false
        } catch {
            throw CLIError.failure(error.message)
        }
    }

    /// Opens the log directory, turning a lock or I/O error into a failure that says what to do.
    /// With `mustExist`, a missing directory is an error instead of being created (readers
    /// must not leave an empty log directory behind a typo).
    static func open(_ path: String, mustExist: Bool = false) throws -> LogDirectory {
        if mustExist && !FileManager.default.fileExists(atPath: path) {
            throw CLIError.failure("the log directory '\(path)' does not exist; check --log-dir (or $WEIR_LOG_DIR), or create a topic there first with weir topics create.")
        }
        do {
            let log = try LogDirectory.open(path: path, options: LogDirectory.Options(maintenanceIntervalMs: nil))
            reportRecovery(log)
            return log
        } catch {
            throw CLIError.failure("cannot open log directory '\(path)': \(error.message)")
        }
    }

    /// Prints to standard error what opening the directory repaired or found lost, so that
    /// damage is never repaired silently: the directory's own notes (a half-made topic removed,
    /// a checkpoint ignored, a partition folder adopted), then each damaged partition's.
    static func reportRecovery(_ log: LogDirectory) {
        for m in log.recovery.messages { printError("weir: note: \(log.path): \(m)") }
        for p in log.recovery.partitions where p.repairedDamage {
            printError("weir: note: \(log.path): \(p.topicPartition) was damaged: \(p.bytesTruncated) bytes truncated, \(p.holes.count) range(s) of offsets lost")
            for m in p.messages { printError("weir: note:   \(m)") }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a topic.",
            discussion: "Configs: partitions, min.insync.replicas (1 on one node) and the topic properties of the log (`weir bench list --fields` shows their types, defaults and ranges). " + PropertyListing.keys(LogConfig.table.rows))

        @Argument(help: "The topic name ([a-zA-Z0-9._-], at most 240 characters).")
        var name: String
        @Option(help: "The number of partitions (1...100000).")
        var partitions: Int = 1
        @Option(name: .customLong("replication-factor"), help: "Only 1 on the embedded single node.")
        var replicationFactor: Int = 1
        @Option(name: .customLong("config"), help: "A topic config as key=value (repeatable).")
        var configs: [String] = []
        @Flag(name: .customLong("if-not-exists"), help: "Succeed when the topic already exists.")
        var ifNotExists = false
        @Flag(name: .customLong("naming-convention"), help: "Require <domain>.<entity>.<event-type> (+ .dlq or .retry.<n>), e.g. order.payment.completed.")
        var namingConvention = false
        @OptionGroup var dir: LogDirOption
        @OptionGroup var user: UserOption

        func run() async throws {
            let topic = NewTopic(name: name, partitions: partitions, replicationFactor: replicationFactor,
                                 configs: try parseKeyValuePairs(configs))
            do {
                _ = try Admin.validate(topic)
                if namingConvention { try TopicNamingPolicy.domainEntityEvent.validate(name) }
            } catch {
                throw CLIError.usage(error.message)
            }
            let log = try TopicsCommand.open(dir.logDir)
            defer { try? log.close() }
            guard try TopicsCommand.change(log, as: user, tolerating: ifNotExists ? .topicAlreadyExists : nil, { admin throws(ClientError) in
                try admin.createTopic(topic)
            }) else { return }
            print("Created topic \(name).")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the topics, one per line.")
        @Flag(name: .customLong("exclude-internal"), help: "Leave out internal topics (__transaction_state, __consumer_offsets).")
        var excludeInternal = false
        @OptionGroup var dir: LogDirOption
        @OptionGroup var user: UserOption

        func run() async throws {
            let log = try TopicsCommand.open(dir.logDir, mustExist: true)
            defer { try? log.close() }
            for name in Admin(logDirectory: log, principal: user.principal).listTopics(includeInternal: !excludeInternal) { print(name) }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe a topic (or every topic): partitions, offsets, configs.")
        @Argument(help: "The topic; all topics when omitted.")
        var name: String?
        @OptionGroup var dir: LogDirOption
        @OptionGroup var user: UserOption

        func run() async throws {
            let log = try TopicsCommand.open(dir.logDir, mustExist: true)
            defer { try? log.close() }
            let admin = Admin(logDirectory: log, principal: user.principal)
            for topic in name.map({ [$0] }) ?? admin.listTopics(includeInternal: true) {
                let d: TopicDescription
                do { d = try admin.describeTopic(topic) } catch { throw CLIError.failure(error.message) }
                let configs = d.overrides.keys.sorted().map { "\($0)=\(d.overrides[$0]!)" }.joined(separator: ",")
                print("Topic: \(d.name)\tPartitionCount: \(d.partitions.count)\tReplicationFactor: 1\tConfigs: \(configs)")
                for p in d.partitions {
                    defer {
                        // Offsets lost on disk (an emptied or missing segment): damage, shown.
                        for hole in (try? log.partition(d.name, p.partition).damage) ?? [] {
                            print("\tTopic: \(d.name)\tPartition: \(p.partition)\tDamage: \(hole)")
                        }
                    }
                    print("\tTopic: \(d.name)\tPartition: \(p.partition)\tLeader: \(p.leader)\tReplicas: 0\tIsr: 0\tLogStartOffset: \(p.offsets.logStartOffset)\tHighWatermark: \(p.offsets.highWatermark)\tLastStableOffset: \(p.offsets.lastStableOffset)\tSize: \(p.sizeInBytes)\tSegments: \(p.segmentCount)")
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a topic and its data.")
        @Argument(help: "The topic.")
        var name: String
        @Flag(name: .customLong("if-exists"), help: "Succeed when the topic does not exist.")
        var ifExists = false
        @OptionGroup var dir: LogDirOption
        @OptionGroup var user: UserOption

        func run() async throws {
            let log = try TopicsCommand.open(dir.logDir, mustExist: true)
            defer { try? log.close() }
            guard try TopicsCommand.change(log, as: user, tolerating: ifExists ? .unknownTopicOrPartition : nil, { admin throws(ClientError) in
                try admin.deleteTopic(name)
            }) else { return }
            print("Deleted topic \(name).")
        }
    }
}
