public import ArgumentParser
import Foundation
import WeirClient
import WeirLog

/// `weir groups`: consumer groups of the embedded log (kafka-consumer-groups).
public struct GroupsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "groups",
        abstract: "List, describe and reset consumer groups (like kafka-consumer-groups).",
        discussion: """
            Groups are coordinated in process; their committed offsets live in the compacted topic \
            __consumer_offsets of the log directory. The directory is owned by one process at a time \
            (its lock file), so while an application's consumers run, this command cannot open it; \
            when it can, the group has no active members and its offsets may be reset, as Kafka requires.
            """,
        subcommands: [List.self, Describe.self, ResetOffsets.self, Delete.self]
    )

    public init() {}

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the groups that have committed offsets.")
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func run() async throws {
            let log = try TopicsCommand.open(dir.logDir)
            defer { try? log.close() }
            for g in GroupCoordinator.shared(for: log).listGroups() { print(g) }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A group's state, members, assignment, committed offsets and lag per partition.",
            discussion: "Columns as kafka-consumer-groups --describe: GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID. Exit 1 when the group has neither members nor committed offsets.")
        @Argument(help: "The group id.")
        var group: String
        @Flag(help: "One JSON object.")
        var json = false
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func run() async throws {
            let log = try TopicsCommand.open(dir.logDir)
            defer { try? log.close() }
            let d = GroupCoordinator.shared(for: log).describeGroup(group)
            if d.state == .dead {
                throw CLIError.failure("group '\(group)' does not exist (no members, no committed offsets); list groups with weir groups list.")
            }
            if json {
                var j = JSONLine()
                j.add("group", d.groupId)
                j.add("state", d.state.rawValue)
                j.add("protocol", d.protocolName)
                j.add("generation", Int(d.generationId))
                j.addRaw("members", "[" + d.members.map { m in
                    var o = JSONLine()
                    o.add("memberId", m.memberId)
                    o.add("groupInstanceId", m.groupInstanceId)
                    o.add("clientId", m.clientId)
                    o.addRaw("assignment", "[" + m.assignment.map { JSONLine.quote($0.description) }.joined(separator: ",") + "]")
                    return o.line
                }.joined(separator: ",") + "]")
                j.addRaw("offsets", "[" + d.offsets.map { p in
                    var o = JSONLine()
                    o.add("topic", p.topicPartition.topic)
                    o.add("partition", Int(p.topicPartition.partition))
                    if let c = p.committedOffset { o.add("currentOffset", c) } else { o.addRaw("currentOffset", "null") }
                    o.add("logEndOffset", p.highWatermark)
                    if let l = p.lag { o.add("lag", l) } else { o.addRaw("lag", "null") }
                    o.add("consumerId", p.memberId)
                    return o.line
                }.joined(separator: ",") + "]")
                j.add("totalLag", d.totalLag)
                print(j.line)
                return
            }
            print("Group \(d.groupId): \(d.state.rawValue), \(d.members.count) member(s), generation \(d.generationId)\(d.protocolName.map { ", \($0)" } ?? "")")
            let header = ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID"]
            var rows = [header]
            for p in d.offsets {
                rows.append([d.groupId, p.topicPartition.topic, String(p.topicPartition.partition), p.committedOffset.map(String.init) ?? "-",
                             String(p.highWatermark), p.lag.map(String.init) ?? "-", p.memberId ?? "-"])
            }
            let widths = (0..<header.count).map { c in rows.map { $0[c].count }.max()! }
            for r in rows {
                print(r.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
            }
            for m in d.members {
                print("member \(m.memberId)\(m.groupInstanceId.map { " (instance \($0))" } ?? ""): \(m.assignment.map(\.description).joined(separator: ", "))")
            }
        }
    }

    struct ResetOffsets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-offsets",
            abstract: "Move a group's committed offsets of a topic (the group must have no active members).",
            discussion: "Give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO (e.g. 2026-11-27T10:00:00Z: the first record at or after that time). --dry-run prints the new offsets without committing them.")
        @Argument(help: "The group id.")
        var group: String
        @Option(help: "The topic.")
        var topic: String
        @Option(help: "Only this partition (repeatable).")
        var partition: [Int32] = []
        @Flag(name: .customLong("to-earliest")) var toEarliest = false
        @Flag(name: .customLong("to-latest")) var toLatest = false
        @Option(name: .customLong("to-offset")) var toOffset: Int64?
        @Option(name: .customLong("to-datetime")) var toDatetime: String?
        @Flag(name: .customLong("dry-run")) var dryRun = false
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func spec() throws -> OffsetResetSpec {
            let given = [toEarliest, toLatest, toOffset != nil, toDatetime != nil].filter { $0 }.count
            guard given == 1 else {
                throw CLIError.usage("give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO (got \(given)).")
            }
            if toEarliest { return .earliest }
            if toLatest { return .latest }
            if let toOffset {
                guard toOffset >= 0 else { throw CLIError.usage("--to-offset \(toOffset) is negative; give an offset ≥ 0.") }
                return .offset(toOffset)
            }
            let text = toDatetime!
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let plain = ISO8601DateFormatter()
            guard let date = f.date(from: text) ?? plain.date(from: text) ?? plain.date(from: text + "Z") else {
                throw CLIError.usage("--to-datetime '\(text)' is not an ISO 8601 date-time; write it like 2026-11-27T10:00:00Z.")
            }
            return .timestamp(Int64((date.timeIntervalSince1970 * 1000).rounded()))
        }

        func run() async throws {
            let spec = try spec()
            let log = try TopicsCommand.open(dir.logDir)
            defer { try? log.close() }
            guard log.topicNames.contains(topic) else {
                throw CLIError.failure("topic '\(topic)' does not exist in \(dir.logDir).")
            }
            let coordinator = GroupCoordinator.shared(for: log)
            let count = (try? log.partitionCount(topic)) ?? 0
            for p in partition where p < 0 || Int(p) >= count {
                throw CLIError.failure("partition \(p) of '\(topic)' does not exist (it has \(count)).")
            }
            let targets = partition.isEmpty ? nil : partition
            let result: [TopicPartition: Int64]
            if dryRun {
                var out: [TopicPartition: Int64] = [:]
                for p in targets ?? (0..<Int32(count)).map({ $0 }) {
                    guard let l = try? log.partition(topic, p) else { continue }
                    out[l.topicPartition] = switch spec {
                    case .earliest: l.logStartOffset
                    case .latest: l.highWatermark
                    case .offset(let n): min(max(n, l.logStartOffset), l.highWatermark)
                    case .timestamp(let ts): l.offset(forTimestamp: ts)?.offset ?? l.highWatermark
                    }
                }
                result = out
            } else {
                do { result = try coordinator.resetOffsets(groupId: group, topic: topic, partitions: targets, to: spec) } catch {
                    throw CLIError.failure(error.message)
                }
            }
            print("GROUP  TOPIC  PARTITION  NEW-OFFSET")
            for (tp, o) in result.sorted(by: { $0.key < $1.key }) { print("\(group)  \(tp.topic)  \(tp.partition)  \(o)") }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a group's committed offsets (the group must have no active members).")
        @Argument(help: "The group id.")
        var group: String
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func run() async throws {
            let log = try TopicsCommand.open(dir.logDir)
            defer { try? log.close() }
            let coordinator = GroupCoordinator.shared(for: log)
            guard coordinator.listGroups().contains(group) else { throw CLIError.failure("group '\(group)' does not exist.") }
            do { try coordinator.deleteGroup(group) } catch { throw CLIError.failure(error.message) }
        }
    }
}
