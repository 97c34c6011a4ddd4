import Foundation
import Synchronization
import Testing
import WeirFormat
import WeirLog
import WeirTestSupport
@testable import WeirClient

/// Tracks which consumer owns which partition, from the rebalance listeners, and fails when a
/// partition would have two owners at once.
final class OwnershipTracker: Sendable {
    let owners = Mutex<[TopicPartition: String]>([:])
    let violations = Mutex<[String]>([])

    func listener(_ name: String) -> RebalanceListener {
        RebalanceListener(
            onPartitionsAssigned: { parts, _ in
                self.owners.withLock { o in
                    for tp in parts {
                        if let other = o[tp], other != name { self.violations.withLock { $0.append("\(tp) assigned to \(name) while \(other) owns it") } }
                        o[tp] = name
                    }
                }
            },
            onPartitionsRevoked: { parts, _ in
                self.owners.withLock { o in for tp in parts where o[tp] == name { o[tp] = nil } }
            },
            onPartitionsLost: { parts, _ in
                self.owners.withLock { o in for tp in parts where o[tp] == name { o[tp] = nil } }
            })
    }

    func crashed(_ name: String) { owners.withLock { o in for (tp, n) in o where n == name { o[tp] = nil } } }
}

/// A group member running `eachMessage` in a task, recording what it processed.
final class Member: Sendable {
    let name: String
    let consumer: Consumer
    let processed: Collected<String>
    let task = Mutex<Task<Void, any Error>?>(nil)

    init(_ name: String, _ config: ConsumerConfiguration, _ dir: LogDirectory, topics: [String], tracker: OwnershipTracker, processed: Collected<String>) throws {
        self.name = name
        self.consumer = try Consumer(configuration: config, logDirectory: dir)
        self.processed = processed
        try consumer.subscribe(topics: topics, listener: tracker.listener(name))
        let c = consumer
        task.withLock {
            $0 = Task {
                try await c.run { m, _ in
                    processed.append("\(m.partition):\(m.offset)")
                }
            }
        }
    }

    func stop() async { await consumer.close(); _ = await task.withLock { $0 }?.result }
    func crash() async { consumer._simulateCrash(); consumer.stop(); _ = await task.withLock { $0 }?.result }
}

func waitUntil(_ what: String = "", detail: () -> String = { "" }, _ condition: () -> Bool) async throws {
    var n = 0
    while !condition() {
        n += 1
        if n > 2_000 { Issue.record("gave up waiting: \(what) \(detail())"); return }
        try await Task.sleep(for: .milliseconds(5))
    }
}

func groupState(_ coordinator: GroupCoordinator, _ group: String) -> String {
    let d = coordinator.describeGroup(group)
    let g = coordinator.groups.withLock { $0[group] }
    let members = (g?.members.values.sorted { $0.memberId < $1.memberId } ?? []).map { m in
        "\(m.memberId.prefix(12)) joined=\(m.joined) waiting=\(m.waiter != nil) assigned=\(m.assignment.count) seen=\((monotonicNanos() - m.lastSeen) / 1_000_000) ms ago"
    }
    return "[state \(d.state.rawValue) generation \(d.generationId) round \(g?.round ?? -1): \(members.joined(separator: "; "))]"
}

func checkGenerations(_ coordinator: GroupCoordinator, _ group: String, partitions: Set<TopicPartition>, complete: Bool = true) {
    let history = coordinator._history.withLock { $0[group] ?? [] }
    #expect(!history.isEmpty)
    for (generation, assignment) in history {
        let all = assignment.values.flatMap { $0 }
        #expect(all.count == Set(all).count, "generation \(generation): a partition has two owners")
        if complete { #expect(Set(all) == partitions, "generation \(generation): not every partition is assigned") }
    }
}

func stableAssignment(_ coordinator: GroupCoordinator, _ group: String, members: Int, partitions: Int) -> Bool {
    let d = coordinator.describeGroup(group)
    return d.state == .stable && d.members.count == members && d.members.reduce(0) { $0 + $1.assignment.count } == partitions
}

@Suite struct GroupTests {
    @Test func threeMembersTwelvePartitionsJoinLeaveCrash() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("orders", partitions: 12)
        let all = Set((0..<Int32(12)).map { TopicPartition("orders", $0) })
        var config = groupConfig("g3")
        config.enableAutoCommit = true
        config.autoCommitIntervalMs = 0
        let tracker = OwnershipTracker()
        let processed = Collected<String>()
        let coordinator = GroupCoordinator.shared(for: d.log)
        var members: [Member] = []
        for i in 0..<3 {
            // m1 crashes later: a short session, so the group notices within a second.
            var c = config
            if i == 1 { c.sessionTimeoutMs = 1_000 }
            members.append(try Member("m\(i)", c, d.log, topics: ["orders"], tracker: tracker, processed: processed))
        }
        try await waitUntil("3 stable") { stableAssignment(coordinator, "g3", members: 3, partitions: 12) }
        for p in 0..<Int32(12) { try produce(d.log, "orders", partition: p, count: 40) }
        try await waitUntil("first 480") { processed.count >= 480 }
        // A stable group with commits after processing: nothing twice.
        #expect(processed.count == 480)
        #expect(Set(processed.all).count == 480)

        // A fourth member joins.
        members.append(try Member("m3", config, d.log, topics: ["orders"], tracker: tracker, processed: processed))
        try await waitUntil("4 stable", detail: { groupState(coordinator, "g3") }) { stableAssignment(coordinator, "g3", members: 4, partitions: 12) }
        for p in 0..<Int32(12) { try produce(d.log, "orders", partition: p, count: 20, from: 40) }
        // One leaves gracefully.
        await members[0].stop()
        try await waitUntil("3 stable after leave", detail: { groupState(coordinator, "g3") }) { stableAssignment(coordinator, "g3", members: 3, partitions: 12) }
        for p in 0..<Int32(12) { try produce(d.log, "orders", partition: p, count: 20, from: 60) }
        try await waitUntil("all 960 before crash") { Set(processed.all).count >= 960 }
        // One crashes: its session times out and the others take over.
        members[1].consumer._simulateCrash()
        tracker.crashed("m1")
        await members[1].crash()
        try await waitUntil("2 stable after crash", detail: { groupState(coordinator, "g3") }) { stableAssignment(coordinator, "g3", members: 2, partitions: 12) }
        for p in 0..<Int32(12) { try produce(d.log, "orders", partition: p, count: 20, from: 80) }
        try await waitUntil("all 1200") { Set(processed.all).count >= 1200 }

        // No loss (at-least-once), and every generation had every partition exactly once.
        #expect(Set(processed.all) == Set((0..<12).flatMap { p in (0..<100).map { "\(p):\($0)" } }))
        checkGenerations(coordinator, "g3", partitions: all)
        #expect(tracker.violations.withLock { $0 }.isEmpty)
        #expect(coordinator._history.withLock { $0["g3"]!.count } >= 4)
        for m in members[2...] { await m.stop() }
        let desc = coordinator.describeGroup("g3")
        #expect(desc.members.isEmpty)
        #expect(desc.offsets.count == 12)
        #expect(desc.totalLag == 0)
    }

    @Test func blueGreenMovesPartitionsWithoutLoss() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("events", partitions: 6)
        var config = groupConfig("bg", strategy: .roundRobin)
        config.enableAutoCommit = true
        config.autoCommitIntervalMs = 0
        let tracker = OwnershipTracker()
        let processed = Collected<String>()
        let coordinator = GroupCoordinator.shared(for: d.log)
        let blue = try (0..<3).map { try Member("blue\($0)", config, d.log, topics: ["events"], tracker: tracker, processed: processed) }
        try await waitUntil("3 green stable", detail: { groupState(coordinator, "bg") }) { stableAssignment(coordinator, "bg", members: 3, partitions: 6) }
        for p in 0..<Int32(6) { try produce(d.log, "events", partition: p, count: 30) }
        let green = try (0..<3).map { try Member("green\($0)", config, d.log, topics: ["events"], tracker: tracker, processed: processed) }
        try await waitUntil("6 stable", detail: { groupState(coordinator, "bg") }) { stableAssignment(coordinator, "bg", members: 6, partitions: 6) }
        for p in 0..<Int32(6) { try produce(d.log, "events", partition: p, count: 30, from: 30) }
        for b in blue { await b.stop() }
        try await waitUntil("3 green stable", detail: { groupState(coordinator, "bg") }) { stableAssignment(coordinator, "bg", members: 3, partitions: 6) }
        let names = Set(coordinator.describeGroup("bg").members.map(\.memberId))
        #expect(names.count == 3)
        for p in 0..<Int32(6) { try produce(d.log, "events", partition: p, count: 30, from: 60) }
        try await waitUntil { Set(processed.all).count >= 540 }
        #expect(Set(processed.all) == Set((0..<6).flatMap { p in (0..<90).map { "\(p):\($0)" } }))
        // Graceful moves finish the delivery in progress and commit before revoking: nothing
        // was processed twice, and no partition had two owners at once.
        #expect(processed.count == 540)
        #expect(tracker.violations.withLock { $0 }.isEmpty)
        checkGenerations(coordinator, "bg", partitions: Set((0..<Int32(6)).map { TopicPartition("events", $0) }))
        // Nine membership changes: a late heartbeat answer or rebalance hook must not start
        // rounds of its own (a rebalance storm once reached generation 100 here).
        let generations = coordinator._history.withLock { $0["bg"]?.count ?? 0 }
        #expect(generations <= 12)
        for g in green { await g.stop() }
    }

    @Test func staticMembershipKeepsAssignmentAcrossRestart() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 6)
        var config = groupConfig("static")
        config.sessionTimeoutMs = 10_000
        let coordinator = GroupCoordinator.shared(for: d.log)
        var a = config; a.groupInstanceId = "instance-a"
        var b = config; b.groupInstanceId = "instance-b"
        let ca = try Consumer(configuration: a, logDirectory: d.log)
        let cb = try Consumer(configuration: b, logDirectory: d.log)
        try ca.subscribe(topics: ["t"])
        try cb.subscribe(topics: ["t"])
        let pa = Task { while !Task.isCancelled { _ = try? await ca.poll(timeout: .milliseconds(20)) } }
        let pb = Task { while !Task.isCancelled { _ = try? await cb.poll(timeout: .milliseconds(20)) } }
        try await waitUntil { stableAssignment(coordinator, "static", members: 2, partitions: 6) && !ca.assignment().isEmpty && !cb.assignment().isEmpty }
        let before = ca.assignment()
        let generation = coordinator.describeGroup("static").generationId
        // Restart a: a static member does not leave on close.
        pa.cancel()
        await ca.close()
        #expect(coordinator.describeGroup("static").members.count == 2)
        let ca2 = try Consumer(configuration: a, logDirectory: d.log)
        try ca2.subscribe(topics: ["t"])
        _ = try await ca2.poll(timeout: .milliseconds(20))
        #expect(ca2.assignment() == before)
        #expect(coordinator.describeGroup("static").generationId == generation)
        #expect(ca2.groupMetadata()?.groupInstanceId == "instance-a")
        pb.cancel()
        await ca2.close()
        await cb.close()
    }

    @Test func cooperativeStickyRevokesOnlyMovedPartitions() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 12)
        let config = groupConfig("coop", strategy: .cooperativeSticky)
        let coordinator = GroupCoordinator.shared(for: d.log)
        let revoked = Collected<(String, [TopicPartition])>()
        func start(_ name: String) throws -> (Consumer, Task<Void, Never>) {
            let c = try Consumer(configuration: config, logDirectory: d.log)
            try c.subscribe(topics: ["t"], listener: RebalanceListener(onPartitionsRevoked: { p, _ in revoked.append((name, p)) }))
            return (c, Task { while !Task.isCancelled { _ = try? await c.poll(timeout: .milliseconds(20)) } })
        }
        let (c1, t1) = try start("c1")
        let (c2, t2) = try start("c2")
        try await waitUntil { stableAssignment(coordinator, "coop", members: 2, partitions: 12) && c1.assignment().count == 6 && c2.assignment().count == 6 }
        let before1 = Set(c1.assignment()), before2 = Set(c2.assignment())
        revoked.removeAll()
        let (c3, t3) = try start("c3")
        try await waitUntil { stableAssignment(coordinator, "coop", members: 3, partitions: 12) && c3.assignment().count == 4 && c1.assignment().count == 4 && c2.assignment().count == 4 }
        // c1 and c2 kept 4 of their 6 each and revoked only the 2 that moved.
        #expect(Set(c1.assignment()).isSubset(of: before1))
        #expect(Set(c2.assignment()).isSubset(of: before2))
        for (_, parts) in revoked.all { #expect(parts.count == 2) }
        #expect(revoked.all.map(\.0).sorted() == ["c1", "c2"])
        checkGenerations(coordinator, "coop", partitions: [], complete: false)
        for t in [t1, t2, t3] { t.cancel() }
        for c in [c1, c2, c3] { await c.close() }
    }

    @Test func assignorsSplitPartitionsAsKafkaDoes() {
        let members = ["a", "b", "c"].map { AssignorMember(memberId: $0, topics: ["x", "y"]) }
        let range = PartitionAssignors.assign(.range, members: members, partitionsPerTopic: ["x": 4, "y": 2])
        #expect(range["a"] == [TopicPartition("x", 0), TopicPartition("x", 1), TopicPartition("y", 0)])
        #expect(range["b"] == [TopicPartition("x", 2), TopicPartition("y", 1)])
        #expect(range["c"] == [TopicPartition("x", 3)])
        let rr = PartitionAssignors.assign(.roundRobin, members: members, partitionsPerTopic: ["x": 4, "y": 2])
        #expect(rr["a"] == [TopicPartition("x", 0), TopicPartition("x", 3)])
        #expect(rr["b"] == [TopicPartition("x", 1), TopicPartition("y", 0)])
        #expect(rr["c"] == [TopicPartition("x", 2), TopicPartition("y", 1)])
        var owned = members
        owned[0].ownedPartitions = (0..<4).map { TopicPartition("x", $0) }
        owned[1].ownedPartitions = [TopicPartition("y", 0), TopicPartition("y", 1)]
        let sticky = PartitionAssignors.assign(.cooperativeSticky, members: owned, partitionsPerTopic: ["x": 4, "y": 2])
        #expect(sticky.values.map(\.count).sorted() == [2, 2, 2])
        #expect(Set(sticky["a"]!).isSubset(of: Set(owned[0].ownedPartitions)))
        #expect(sticky["b"] == owned[1].ownedPartitions)
    }
}

/// What `close()` waits for, and what it does not.
@Suite struct ConsumerCloseTests {
    @Test func closeWaitsForTheDeliveryInProgressThenCommitsAndLeaves() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 1)
        _ = try produce(d.log, "t", partition: 0, count: 5, perBatch: 5)
        var config = groupConfig("close-wait")
        config.enableAutoCommit = true
        let c = try Consumer(configuration: config, logDirectory: d.log)
        try c.subscribe(topics: ["t"])
        let events = Collected<String>()
        let gate = Gate()
        let run = Task {
            try await c.run { m, _ in
                if m.offset == 2 {
                    events.append("handler waits")
                    await gate.wait()
                    events.append("handler done")
                }
            }
        }
        try await waitUntil("the handler is waiting") { events.count == 1 }
        let closing = Task {
            await c.close()
            events.append("close returned")
        }
        // Give close every chance to return early (it must not): then let the handler finish.
        for _ in 0..<20 { await Task.yield() }
        try await Task.sleep(for: .milliseconds(50))
        gate.open()
        await closing.value
        try await run.value
        #expect(events.all == ["handler waits", "handler done", "close returned"])
        // The batch in progress finished before the partition was revoked: all 5 are committed.
        #expect(c.committed(TopicPartition("t", 0))?.offset == 5)
        #expect(c.coordinator.describeGroup("close-wait").members.isEmpty)
    }

    @Test func closeFromInsideAHandlerDoesNotWaitForItself() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 1)
        _ = try produce(d.log, "t", partition: 0, count: 10)
        var config = groupConfig("close-inside")
        config.enableAutoCommit = true
        let c = try Consumer(configuration: config, logDirectory: d.log)
        try c.subscribe(topics: ["t"])
        let seen = Collected<Int64>()
        try await c.run(partitionsConsumedConcurrently: 2) { m, _ in
            seen.append(m.offset)
            if m.offset == 3 { await c.close() }
        }
        // The loop stops after the record whose handler closed the consumer.
        #expect(seen.all == [0, 1, 2, 3])
        #expect(c.coordinator.describeGroup("close-inside").members.isEmpty)
    }

    @Test func closeCancelsAJoinThatWaitsForOtherMembers() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 2)
        let config = groupConfig("close-join")
        let coordinator = GroupCoordinator.shared(for: d.log)
        // a joins and then stops polling without leaving: a rebalance waits for it until
        // max.poll.interval.ms (300 s here).
        let a = try Consumer(configuration: config, logDirectory: d.log)
        try a.subscribe(topics: ["t"])
        _ = try await a.poll(timeout: .milliseconds(10))
        try await waitUntil("a stable") { stableAssignment(coordinator, "close-join", members: 1, partitions: 2) }
        let b = try Consumer(configuration: config, logDirectory: d.log)
        try b.subscribe(topics: ["t"])
        let polling = Task { () async throws(ClientError) -> [ConsumerRecord] in try await b.poll(timeout: .seconds(600)) }
        try await waitUntil("b waits in the join") { coordinator.describeGroup("close-join").members.count == 2 }
        await b.close()
        let result = await polling.result
        #expect(throws: ClientError.self) { try result.get() }
        // b's join was cancelled: it left, and a (still a member) was not removed by a timeout.
        let members = coordinator.describeGroup("close-join").members
        #expect(members.count == 1)
        #expect(members.first?.memberId == a.groupMetadata()?.memberId)
        await a.close()
    }
}
