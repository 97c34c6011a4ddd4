import Foundation
import Testing
import WeirFormat
import WeirLog
@testable import WeirClient

@Suite struct ConsumerTests {
    @Test func assignAndPollReadsEveryRecordInOrder() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 2)
        try produce(d.log, "t", partition: 0, count: 25)
        try produce(d.log, "t", partition: 1, count: 7, codec: .lz4)
        var config = ConsumerConfiguration()
        config.autoOffsetReset = .earliest
        config.maxPollRecords = 10
        config.fetchMaxWaitMs = 10
        let c = try Consumer(configuration: config, logDirectory: d.log)
        try c.assign([TopicPartition("t", 0), TopicPartition("t", 1)])
        var got: [TopicPartition: [String]] = [:]
        while got.values.reduce(0, { $0 + $1.count }) < 32 {
            let records = try await c.poll(timeout: .seconds(5))
            #expect(records.count <= 10)
            for r in records { got[r.topicPartition, default: []].append(r.text) }
        }
        #expect(got[TopicPartition("t", 0)] == (0..<25).map { "t-0-\($0)" })
        #expect(got[TopicPartition("t", 1)] == (0..<7).map { "t-1-\($0)" })
        #expect(try c.position(TopicPartition("t", 0)) == 25)
        #expect(try await c.poll(timeout: .milliseconds(30)).isEmpty)
        await c.close()
    }

    @Test func autoOffsetResetBehaviours() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 1)
        try produce(d.log, "t", partition: 0, count: 5)
        let tp = TopicPartition("t", 0)
        for (reset, expected) in [(ConsumerConfiguration.AutoOffsetReset.earliest, Int64(0)), (.latest, 5)] {
            var config = ConsumerConfiguration(groupId: "g-\(reset)")
            config.autoOffsetReset = reset
            let c = try Consumer(configuration: config, logDirectory: d.log)
            try c.assign([tp])
            #expect(try c.position(tp) == expected)
        }
        var none = ConsumerConfiguration(groupId: "g-none")
        none.autoOffsetReset = .none
        let c = try Consumer(configuration: none, logDirectory: d.log)
        try c.assign([tp])
        #expect(throws: ClientError.self) { try c.position(tp) }
        do { _ = try c.position(tp) } catch { #expect(error.code == .noOffset) }
        // A committed offset wins over the reset policy.
        try c.commit([tp: 3])
        let c2 = try Consumer(configuration: none, logDirectory: d.log)
        try c2.assign([tp])
        #expect(try c2.position(tp) == 3)
        // Out of range: seek beyond the end, the reset policy applies on fetch.
        var early = ConsumerConfiguration()
        early.autoOffsetReset = .earliest
        let c3 = try Consumer(configuration: early, logDirectory: d.log)
        try c3.assign([tp])
        try c3.seek(tp, to: 100)
        let r = try await c3.poll(timeout: .seconds(5))
        #expect(r.first?.offset == 0)
    }

    @Test func seekPauseResumeAndPosition() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 2)
        try produce(d.log, "t", partition: 0, count: 10)
        try produce(d.log, "t", partition: 1, count: 10)
        var config = ConsumerConfiguration()
        config.autoOffsetReset = .earliest
        config.fetchMaxWaitMs = 5
        let c = try Consumer(configuration: config, logDirectory: d.log)
        let p0 = TopicPartition("t", 0), p1 = TopicPartition("t", 1)
        try c.assign([p0, p1])
        try c.pause([p1])
        #expect(c.paused() == [p1])
        let first = try await c.poll(timeout: .seconds(5))
        #expect(Set(first.map(\.partition)) == [0])
        #expect(first.count == 10)
        try c.seek(p0, to: 7)
        #expect(try c.position(p0) == 7)
        try c.resume([p1])
        var rest: [ConsumerRecord] = []
        while rest.count < 13 { rest += try await c.poll(timeout: .seconds(5)) }
        #expect(rest.filter { $0.partition == 0 }.map(\.offset) == [7, 8, 9])
        #expect(rest.filter { $0.partition == 1 }.count == 10)
        #expect(throws: ClientError.self) { try c.seek(TopicPartition("other", 0), to: 1) }
    }

    @Test func eachMessageIsZeroCopyAndCopiesOnRequest() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 1)
        try produce(d.log, "t", partition: 0, count: 30, headers: [RecordHeader(key: "h", value: Array("v".utf8))])
        let c = try Consumer(configuration: groupConfig("zero"), logDirectory: d.log)
        try c.subscribe(topics: ["t"])
        let copies = Collected<ConsumerRecord>()
        let inMapping = Collected<Bool>()
        let log = try d.log.partition("t", 0)
        let mapping = try log.read(from: 0, maxBytes: 1 << 20).batches.first!.withUnsafeBytes { UInt(bitPattern: $0.baseAddress!) }
        try await c.run { message, _ in
            // The value points into the segment's mapping: no copy was made.
            let address = UInt(bitPattern: message.value!.baseAddress!)
            inMapping.append(address >= mapping && address < mapping + (1 << 20))
            #expect(message.headers.first(named: "h")?.value.map { Array($0) } == Array("v".utf8))
            copies.append(message.copy())
            if copies.count == 30 { c.stop() }
        }
        #expect(copies.all.map(\.text) == (0..<30).map { "t-0-\($0)" })
        #expect(inMapping.all.allSatisfy { $0 })
        // Processed offsets are committed as offset + 1.
        try c.commit()
        #expect(c.committed(TopicPartition("t", 0))?.offset == 30)
        await c.close()
    }

    @Test func eachBatchResolveOffsetAndFailureRedelivers() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 1)
        try produce(d.log, "t", partition: 0, count: 20)
        let c = try Consumer(configuration: groupConfig("batch"), logDirectory: d.log)
        try c.subscribe(topics: ["t"])
        struct Boom: Error {}
        let seen = Collected<Int64>()
        await #expect(throws: Boom.self) {
            try await c.run(eachBatchAutoResolve: false) { batch, context in
                for m in batch {
                    if m.offset == 12 { throw Boom() }
                    seen.append(m.offset)
                    context.resolveOffset(m.offset)
                }
            }
        }
        #expect(seen.all == Array(0..<12))
        // The next run starts at the failed record.
        let again = Collected<Int64>()
        try await c.run { batch, context in
            for m in batch { again.append(m.offset) }
            #expect(!context.isStale())
            if again.count >= 8 { c.stop() }
        }
        #expect(again.all == Array(12..<20))
        try c.commit()
        #expect(c.committed(TopicPartition("t", 0))?.offset == 20)
        await c.close()
    }

    @Test func partitionsConsumedConcurrentlyKeepsOrderWithinPartitions() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 4)
        for p in 0..<Int32(4) { try produce(d.log, "t", partition: p, count: 200, perBatch: 7) }
        var config = groupConfig("conc")
        config.maxPollRecords = 64
        config.sessionTimeoutMs = 30_000
        let c = try Consumer(configuration: config, logDirectory: d.log)
        try c.subscribe(topics: ["t"])
        let seen = Collected<ConsumerRecord>()
        try await c.run(partitionsConsumedConcurrently: 3) { m, _ in
            seen.append(m.copy())
            await Task.yield()
            if seen.count == 800 { c.stop() }
        }
        for p in 0..<Int32(4) {
            #expect(seen.all.filter { $0.partition == p }.map(\.offset) == (0..<200).map(Int64.init))
        }
    }

    @Test func asyncSequenceWaitsForNewData() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("t", partitions: 1)
        var config = groupConfig("seq")
        config.fetchMaxWaitMs = 200
        config.autoOffsetReset = .latest
        let c = try Consumer(configuration: config, logDirectory: d.log)
        try c.subscribe(topics: ["t"])
        let reader = Task {
            var out: [String] = []
            for try await r in c.messages {
                out.append(r.text)
                if out.count == 15 { break }
            }
            return out
        }
        // Wait until the consumer has joined and has a position, then produce.
        while c.assignment().isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        _ = try c.position(TopicPartition("t", 0))
        try produce(d.log, "t", partition: 0, count: 15)
        #expect(try await reader.value == (0..<15).map { "t-0-\($0)" })
        await c.close()
    }

    @Test func patternSubscriptionSkipsInternalTopics() async throws {
        let d = try ConsumerTestDir()
        defer { d.remove() }
        try d.log.createTopic("orders-eu", partitions: 1)
        try d.log.createTopic("orders-us", partitions: 1)
        try d.log.createTopic("payments", partitions: 1)
        let c = try Consumer(configuration: groupConfig("pattern"), logDirectory: d.log)
        try c.subscribe(pattern: "orders-.*")
        _ = try await c.poll(timeout: .milliseconds(10))
        #expect(c.subscription() == ["orders-eu", "orders-us"])
        #expect(c.assignment() == [TopicPartition("orders-eu", 0), TopicPartition("orders-us", 0)])
        #expect(throws: ClientError.self) { try c.subscribe(pattern: "(") }
        await c.close()
    }

    @Test func configurationParsingNamesKeyAndRange() throws {
        let c = try ConsumerConfiguration(properties: ["group.id": "g", "fetch.min.bytes": "1024", "isolation.level": "read_committed",
                                                      "partition.assignment.strategy": "roundrobin,cooperative-sticky"])
        #expect(c.fetchMinBytes == 1024)
        #expect(c.isolationLevel == .readCommitted)
        #expect(c.partitionAssignmentStrategy == [.roundRobin, .cooperativeSticky])
        for (k, v) in [("max.poll.records", "0"), ("fetch.max.wait.ms", "-1"), ("auto.offset.reset", "smallest"), ("nope", "1"),
                       ("heartbeat.interval.ms", "50000")] {
            do {
                _ = try ConsumerConfiguration(properties: [k: v])
                Issue.record("\(k)=\(v) accepted")
            } catch {
                #expect(error.code == .invalidConfig)
                #expect(error.key == k)
            }
        }
    }
}
