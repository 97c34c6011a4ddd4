public import ArgumentParser
import WeirClient
import WeirFormat
import WeirLog
import WeirPatterns

/// `weir dlq`: inspect dead-letter topics and replay them to their source.
public struct DLQCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List, show and replay dead-letter topics (<topic>.dlq) of the retry/DLQ pipeline.",
        subcommands: [List.self, Show.self, Replay.self]
    )

    public init() {}

    static func client(_ log: LogDirectory) -> EmbeddedMessaging { EmbeddedMessaging(logDirectory: log) }

    static func checkDLQ(_ topic: String, _ log: LogDirectory) throws {
        guard topic.hasSuffix(".dlq") else {
            throw CLIError.usage("'\(topic)' is not a dead-letter topic (<topic>.dlq); list them with weir dlq list.")
        }
        guard log.topicNames.contains(topic) else {
            throw CLIError.failure("dead-letter topic '\(topic)' does not exist; list them with weir dlq list.")
        }
    }

    static func headerText(_ headers: [RecordHeader]) -> String {
        headers.map { "\($0.key)=\($0.value.map { String(decoding: $0, as: UTF8.self) } ?? "null")" }.joined(separator: ",")
    }

    static func json(_ r: ConsumerRecord, target: String?) -> String {
        var j = JSONLine()
        j.add("topic", r.topic)
        j.add("partition", Int(r.partition))
        j.add("offset", r.offset)
        j.add("key", r.keyString)
        j.add("value", r.valueString)
        j.addRaw("headers", "{" + r.headers.map { h in
            JSONLine.quote(h.key) + ":" + (h.value.map { JSONLine.quote(String(decoding: $0, as: UTF8.self)) } ?? "null")
        }.joined(separator: ",") + "}")
        if let target { j.add("target", target) }
        return j.line
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The dead-letter topics with their message counts and source topics.")
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func run() async throws {
            let log = try TopicsCommand.open(dir.logDir)
            defer { try? log.close() }
            let admin = Admin(logDirectory: log)
            for topic in admin.listTopics() where topic.hasSuffix(".dlq") {
                let offsets = (try? admin.listOffsets(topic)) ?? []
                let count = offsets.reduce(Int64(0)) { $0 + $1.highWatermark - $1.logStartOffset }
                print("\(topic)\tmessages: \(count)\tsource: \(RetryTopics.sourceTopic(of: topic) ?? "?")")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print each message of a dead-letter topic with its error headers (reads without committing).")
        @Argument(help: "The dead-letter topic (<topic>.dlq).")
        var topic: String
        @Option(help: "Print at most N messages.")
        var max: Int?
        @Flag(help: "One JSON object per message.")
        var json = false
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func run() async throws {
            if let max, max < 1 { throw CLIError.usage("--max \(max) is out of range; give 1 or more.") }
            let log = try TopicsCommand.open(dir.logDir)
            defer { try? log.close() }
            try DLQCommand.checkDLQ(topic, log)
            do {
                try await DeadLetterReplay.read(topic, on: DLQCommand.client(log), groupId: nil, max: max, commit: false) { r in
                    if json { print(DLQCommand.json(r, target: nil)); return }
                    let h = { RetryHeaders.string($0, in: r.headers) ?? "-" }
                    print("\(r.topic)-\(r.partition)@\(r.offset) key=\(r.keyString ?? "null") from=\(h(RetryHeaders.originalTopic)) retries=\(h(RetryHeaders.retryCount)) failedAt=\(h(RetryHeaders.failedAt))")
                    print("  error: \(h(RetryHeaders.errorType)): \(h(RetryHeaders.errorMessage))")
                    print("  context: \(h(RetryHeaders.errorContext))")
                    print("  value: \(r.valueString ?? "null")")
                }
            } catch {
                throw CLIError.failure(error.message)
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send the messages of a dead-letter topic back to their source topic.",
            discussion: """
                The target is each message's originalTopic header, or --to. Retry and error headers are \
                cleared. The replay commits its position in --group (default weir-dlq-replay), so running \
                it again sends only messages dead-lettered since. --dry-run prints what would be sent and \
                commits nothing.
                """)
        @Argument(help: "The dead-letter topic (<topic>.dlq).")
        var topic: String
        @Option(help: "Send every message to this topic instead of its originalTopic header.")
        var to: String?
        @Option(help: "Replay at most N messages.")
        var max: Int?
        @Option(help: "The group that records what was replayed.")
        var group: String = "weir-dlq-replay"
        @Flag(name: .customLong("dry-run"), help: "Print what would be replayed; send and commit nothing.")
        var dryRun = false
        @Flag(help: "One JSON object per message.")
        var json = false
        @OptionGroup var dir: TopicsCommand.LogDirOption
        @OptionGroup var user: UserOption

        func run() async throws {
            if let max, max < 1 { throw CLIError.usage("--max \(max) is out of range; give 1 or more.") }
            if group.isEmpty { throw CLIError.usage("--group is empty; give a group id or leave the default weir-dlq-replay.") }
            let log = try TopicsCommand.open(dir.logDir)
            defer { try? log.close() }
            try DLQCommand.checkDLQ(topic, log)
            if let to, !log.topicNames.contains(to) {
                throw CLIError.failure("target topic '\(to)' does not exist; create it first (weir topics create \(to)).")
            }
            let replay = DeadLetterReplay(deadLetterTopic: topic, to: to, max: max, groupId: group, dryRun: dryRun,
                                          properties: user.name.map { ["sasl.username": $0] } ?? [:])
            let report: DeadLetterReplay.Report
            do { report = try await replay.run(on: DLQCommand.client(log)) } catch {
                throw CLIError.failure(error.message)
            }
            for item in report.items {
                if json { print(DLQCommand.json(item.record, target: item.target)); continue }
                let r = item.record
                let dest = item.metadata.map(\.description) ?? (item.target ?? "?")
                print("\(dryRun ? "would replay" : "replayed") \(r.topic)-\(r.partition)@\(r.offset) -> \(dest)")
            }
            if !json {
                print(dryRun ? "Dry run: \(report.items.count) message(s) would be replayed; nothing sent or committed."
                             : "Replayed \(report.replayed) message(s) from \(topic).")
            }
        }
    }
}
