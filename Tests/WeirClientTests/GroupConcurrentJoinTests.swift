import Foundation
import Synchronization
import Testing
import WeirLog
@testable import WeirClient

/// Many groups with several members each, all joining at once: the shape of OpenMessaging
/// Benchmark's 100-topic workloads (one group per topic, four consumers in each).
@Suite struct GroupConcurrentJoinTests {
    @Test func hundredGroupsOfFourOnOnePartitionEach() async throws {
        try await joinAtOnce(groups: 100, members: 4, partitions: 1)
    }

    @Test func twentyFiveGroupsOfFourOnSixPartitionsEach() async throws {
        try await joinAtOnce(groups: 25, members: 4, partitions: 6)
    }

    /// Every group ends with each partition held once, and every member that can have one has one.
    func joinAtOnce(groups: Int, members: Int, partitions: Int) async throws {
        let d = try ConsumerTestDir("weirgroups")
        defer { d.remove() }
        let topics = (0..<groups).map { "t\($0)" }
        for t in topics { try d.log.createTopic(t, partitions: partitions) }
        // The bench's consumer properties; session, heartbeat and poll interval at their defaults.
        var consumers: [[Consumer]] = []
        for (g, t) in topics.enumerated() {
            var group: [Consumer] = []
            for m in 0..<members {
                let c = try Consumer(properties: ["group.id": "g\(g)", "client.id": "g\(g)-\(m)", "auto.offset.reset": "earliest",
                                                  "enable.auto.commit": "false"], logDirectory: d.log)
                try c.subscribe(topics: [t], listener: nil)
                group.append(c)
            }
            consumers.append(group)
        }
        let made = consumers
        let settled: @Sendable ([Consumer], String) -> Bool = { group, topic in
            let held = group.flatMap { $0.assignment() }
            let busy = group.filter { !$0.assignment().isEmpty }.count
            return held.count == partitions && Set(held) == Set((0..<Int32(partitions)).map { TopicPartition(topic, $0) })
                && busy == min(members, partitions)
        }
        // A hang guard, not a timing bound: every member polls from its own task until all
        // groups hold their partitions.
        let deadline = MonotonicDeadline(after: .seconds(240))
        let done = Collected<Bool>()
        let started = monotonicNanos()
        await withTaskGroup(of: Void.self) { tasks in
            for c in made.joined() {
                tasks.addTask {
                    while done.count == 0 && !deadline.hasPassed {
                        _ = try? await c.poll(timeout: .milliseconds(5))
                    }
                }
            }
            tasks.addTask {
                while !deadline.hasPassed && !zip(made, topics).allSatisfy({ settled($0, $1) }) {
                    try? await Task.sleep(for: .milliseconds(5))
                }
                done.append(true)
            }
        }
        let unsettled = zip(consumers, topics).filter { !settled($0, $1) }.map(\.1)
        #expect(unsettled.isEmpty, "groups of \(unsettled.prefix(5)) did not settle within the hang guard")
        print("\(groups) groups × \(members) members × \(partitions) partitions settled in \((monotonicNanos() - started) / 1_000_000) ms")
        for c in consumers.joined() { await c.close() }
    }
}
