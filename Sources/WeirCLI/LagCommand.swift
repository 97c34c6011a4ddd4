public import ArgumentParser
import Foundation
import WeirClient
import WeirKafka
import WeirLog
import WeirPatterns

/// `weir lag`: a consumer group's lag against thresholds, with an exit code for scripts.
public struct LagCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lag",
        abstract: "A consumer group's lag per partition against warning and critical thresholds.",
        discussion: """
            Lag is the high-water mark minus the group's committed offset, per partition (with \
            --topic, also the topic's partitions the group never committed, counted from offset 0). \
            Thresholds are in records; a lag equal to a threshold reaches it. --warn / --critical \
            apply to each partition, --warn-total / --critical-total to the sum.

            Columns: TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG LEVEL. --json prints the \
            LagSnapshot (group, partitions with committedOffset, endOffset, lag, level; totalLag, \
            totalLevel, level).

            Like weir groups, this opens the log directory, which one process owns at a time: run it \
            when the application is stopped, or use LagMonitor inside the application (it alerts on \
            threshold crossings and exports the lag as metrics).

            With --backend kafka (implied by --bootstrap-servers or --mock-cluster) the group is read \
            from a Kafka cluster through librdkafka: its committed offsets with the admin API's \
            listConsumerGroupOffsets, whether or not the group has active members. Properties as in \
            `weir bench run` (--config key=value, --config-file, WEIR_KAFKA_<PROPERTY> variables).

            Exit codes: 0 ok or warning, 1 critical (or the group does not exist), 2 usage errors.
            """)

    @Argument(help: "The group id.")
    var group: String
    @Option(help: "Warn when a partition's lag reaches this many records.")
    var warn: Int64?
    @Option(help: "Critical (exit 1) when a partition's lag reaches this many records.")
    var critical: Int64?
    @Option(name: .customLong("warn-total"), help: "Warn when the total lag reaches this.")
    var warnTotal: Int64?
    @Option(name: .customLong("critical-total"), help: "Critical (exit 1) when the total lag reaches this.")
    var criticalTotal: Int64?
    @Option(help: "Also watch every partition of this topic (repeatable).")
    var topic: [String] = []
    @Flag(help: "One JSON object.")
    var json = false
    @OptionGroup var dir: TopicsCommand.LogDirOption
    @OptionGroup var kafkaBackend: KafkaBackendOptions

    public init() {}

    public func run() async throws {
        let thresholds = LagThresholds(warningPerPartition: warn, criticalPerPartition: critical, warningTotal: warnTotal, criticalTotal: criticalTotal)
        do { try thresholds.validate() } catch {
            throw CLIError.usage(error.message.replacingOccurrences(of: "warningPerPartition", with: "--warn")
                .replacingOccurrences(of: "criticalPerPartition", with: "--critical")
                .replacingOccurrences(of: "warningTotal", with: "--warn-total").replacingOccurrences(of: "criticalTotal", with: "--critical-total"))
        }
        let snap: LagSnapshot
        if try kafkaBackend.useKafka() {
            snap = try await kafkaSnapshot(thresholds)
        } else {
            snap = try await embeddedSnapshot(thresholds)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var text = String(decoding: try encoder.encode(snap), as: UTF8.self)
            text.removeLast()
            print(text + ",\"level\":\"\(snap.level.rawValue)\"}")
        } else {
            var rows = [["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "LEVEL"]]
            for p in snap.partitions {
                rows.append([p.topic, String(p.partition), p.committedOffset.map(String.init) ?? "-", String(p.endOffset), String(p.lag), p.level.rawValue])
            }
            let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
            for r in rows { print(r.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")) }
            print("total lag \(snap.totalLag) (\(snap.totalLevel.rawValue)); group \(group): \(snap.level.rawValue)")
        }
        if snap.level == .critical {
            throw CLIError.failure("group '\(group)' lag is critical (total \(snap.totalLag)).")
        }
    }

    /// The lag on the embedded log in `--log-dir`.
    func embeddedSnapshot(_ thresholds: LagThresholds) async throws -> LagSnapshot {
        let log = try TopicsCommand.open(dir.logDir)
        defer { try? log.close() }
        for t in topic where !log.topicNames.contains(t) {
            throw CLIError.failure("topic '\(t)' does not exist in \(dir.logDir); list topics with weir topics list.")
        }
        guard GroupCoordinator.shared(for: log).listGroups().contains(group) else {
            throw CLIError.failure("group '\(group)' does not exist (no members, no committed offsets); list groups with weir groups list.")
        }
        return try await snapshot(client: EmbeddedMessaging(logDirectory: log), offsets: EmbeddedGroupOffsets(logDirectory: log), thresholds)
    }

    /// The lag on a Kafka cluster: committed offsets from `listConsumerGroupOffsets`, end offsets
    /// from the partitions' high watermarks.
    func kafkaSnapshot(_ thresholds: LagThresholds) async throws -> LagSnapshot {
        let kafka = try kafkaBackend.kafkaClient()
        for t in topic {
            do { _ = try await kafka.partitionCount(t) } catch {
                throw CLIError.failure("topic '\(t)': \(error.message)")
            }
        }
        let snap = try await snapshot(client: kafka, offsets: kafka, thresholds)
        if snap.partitions.allSatisfy({ $0.committedOffset == nil }), await kafka.memberCount(group: group) ?? 0 == 0 {
            throw CLIError.failure("group '\(group)' does not exist on \(kafkaBackend.bootstrapDescription) (no members, no committed offsets).")
        }
        return snap
    }

    func snapshot(client: any MessagingClient, offsets: any ConsumerGroupOffsets, _ thresholds: LagThresholds) async throws -> LagSnapshot {
        do {
            return try await LagMonitor.snapshot(client: client, offsets: offsets, group: group, topics: topic, thresholds: thresholds)
        } catch {
            throw CLIError.failure("cannot compute the lag of '\(group)': \(error.message)")
        }
    }
}
