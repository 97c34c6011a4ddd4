public import WeirLog

/// One member's input to an assignor: its id, subscription and (for `cooperative-sticky`) the
/// partitions it owns now.
public struct AssignorMember: Sendable, Hashable {
    public var memberId: String
    /// `group.instance.id`; Kafka's range assignor orders static members by it.
    public var groupInstanceId: String?
    public var topics: Set<String>
    public var ownedPartitions: [TopicPartition]

    public init(memberId: String, groupInstanceId: String? = nil, topics: Set<String>, ownedPartitions: [TopicPartition] = []) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.topics = topics
        self.ownedPartitions = ownedPartitions
    }

    var sortKey: String { groupInstanceId ?? memberId }
}

/// Kafka's partition assignors (`partition.assignment.strategy`).
public enum PartitionAssignors {
    /// The assignment `strategy` computes for `members` over `partitionsPerTopic`; every
    /// partition of a subscribed topic goes to exactly one member subscribed to its topic.
    public static func assign(_ strategy: ConsumerConfiguration.AssignmentStrategy, members: [AssignorMember],
                              partitionsPerTopic: [String: Int]) -> [String: [TopicPartition]] {
        switch strategy {
        case .range: return range(members, partitionsPerTopic)
        case .roundRobin: return roundRobin(members, partitionsPerTopic)
        case .cooperativeSticky: return sticky(members, partitionsPerTopic)
        }
    }

    /// `RangeAssignor`: per topic, the subscribers in order; each gets `n / m` consecutive
    /// partitions, the first `n % m` one more.
    static func range(_ members: [AssignorMember], _ topics: [String: Int]) -> [String: [TopicPartition]] {
        var out = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, [TopicPartition]()) })
        for topic in topics.keys.sorted() {
            let subs = members.filter { $0.topics.contains(topic) }.sorted { $0.sortKey < $1.sortKey }
            guard !subs.isEmpty, let n = topics[topic] else { continue }
            let per = n / subs.count, extra = n % subs.count
            var next = 0
            for (i, m) in subs.enumerated() {
                let count = per + (i < extra ? 1 : 0)
                for p in next..<(next + count) { out[m.memberId]!.append(TopicPartition(topic, Int32(p))) }
                next += count
            }
        }
        return out
    }

    /// `RoundRobinAssignor`: all partitions in (topic, partition) order, dealt to the members in
    /// turn, skipping members not subscribed to the partition's topic.
    static func roundRobin(_ members: [AssignorMember], _ topics: [String: Int]) -> [String: [TopicPartition]] {
        var out = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, [TopicPartition]()) })
        let sorted = members.sorted { $0.sortKey < $1.sortKey }
        guard !sorted.isEmpty else { return out }
        var i = 0
        for topic in topics.keys.sorted() {
            guard sorted.contains(where: { $0.topics.contains(topic) }) else { continue }
            for p in 0..<(topics[topic] ?? 0) {
                while !sorted[i % sorted.count].topics.contains(topic) { i += 1 }
                out[sorted[i % sorted.count].memberId]!.append(TopicPartition(topic, Int32(p)))
                i += 1
            }
        }
        return out
    }

    /// `CooperativeStickyAssignor`'s target: balanced (partition counts differ by at most one
    /// among members with the same subscription) while keeping as many owned partitions as
    /// possible where they are.
    static func sticky(_ members: [AssignorMember], _ topics: [String: Int]) -> [String: [TopicPartition]] {
        var out = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, [TopicPartition]()) })
        guard !members.isEmpty else { return out }
        let byId = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, $0) })
        var all: [TopicPartition] = []
        for t in topics.keys.sorted() where members.contains(where: { $0.topics.contains(t) }) {
            for p in 0..<(topics[t] ?? 0) { all.append(TopicPartition(t, Int32(p))) }
        }
        let valid = Set(all)
        // 1. Keep what members own (valid, subscribed, first claim wins).
        var taken = Set<TopicPartition>()
        for m in members.sorted(by: { $0.sortKey < $1.sortKey }) {
            for tp in m.ownedPartitions.sorted() where valid.contains(tp) && m.topics.contains(tp.topic) && !taken.contains(tp) {
                out[m.memberId]!.append(tp)
                taken.insert(tp)
            }
        }
        // 2. Trim to the quota: at most `ceil` each, and only `total % count` members above `floor`.
        let floorQ = all.count / members.count
        var ceilSlots = all.count % members.count
        for id in out.keys.sorted(by: { (out[$0]!.count, $0) > (out[$1]!.count, $1) }) {
            var quota = floorQ
            if ceilSlots > 0 && out[id]!.count > floorQ { quota = floorQ + 1; ceilSlots -= 1 }
            while out[id]!.count > quota { taken.remove(out[id]!.removeLast()) }
        }
        // 3. Give every free partition to the least loaded subscriber.
        for tp in all where !taken.contains(tp) {
            let candidates = out.keys.filter { byId[$0]!.topics.contains(tp.topic) }
            guard let best = candidates.min(by: { (out[$0]!.count, byId[$0]!.sortKey) < (out[$1]!.count, byId[$1]!.sortKey) }) else { continue }
            out[best]!.append(tp)
            taken.insert(tp)
        }
        return out.mapValues { $0.sorted() }
    }
}
