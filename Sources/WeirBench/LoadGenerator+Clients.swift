import Foundation
import Synchronization
import WeirClientAPI

// How a step reaches its client: topics, producers on the thread path (`produceNow` with an
// opaque, acknowledgements through the delivery handler) and consumers in their groups
// (`pollBlocking`), all through `any MessagingClient`.

extension LoadGenerator {
    /// `segment.bytes` of the topics a step creates unless the workload sets it: 128 MiB. A
    /// backend that preallocates segments (the embedded log with `preallocate=true`) would
    /// otherwise hold 1 GiB per partition.
    public static let defaultTopicConfig = ["segment.bytes": String(128 << 20)]

    /// Creates the step's topics with the workload's topic properties and checks that each has
    /// `partitions` partitions.
    func _createTopics(_ names: [String], partitions: Int, configs: [String: String]) async throws(BenchError) {
        for name in names {
            do {
                try await client.ensureTopic(name, partitions: partitions, configs: Self.defaultTopicConfig.merging(configs) { $1 })
                let have = try await client.partitionCount(name)
                if have != partitions {
                    throw BenchError(.backend, "topic '\(name)' exists with \(have) partitions, not partitionsPerTopic=\(partitions); use a fresh log directory or delete the topic (`weir topics delete \(name)`).")
                }
            } catch let error as BenchError {
                throw error
            } catch let error as ClientError {
                throw _benchError(error, "cannot create topic '\(name)'")
            } catch {
                throw BenchError(.backend, "cannot create topic '\(name)': \(error)")
            }
        }
    }

    /// The stem of the step's topics: the workload's (nil = `weir-bench`) while none of
    /// `weir-bench-0 …` exists with another partition count than the step's, else
    /// `weir-bench-pP`. Kafka keeps a topic's partitions when it is created again, so a sweep
    /// over `partitionsPerTopic` on one log directory or cluster would otherwise run its later
    /// steps on the first step's topics.
    func _topicStem(for step: Workload) async throws(BenchError) -> String? {
        guard step.topic == nil, step.topicStem == nil else { return step.topicStem }
        for name in step.topicNames {
            let have: Int
            do { have = try await client.partitionCount(name) } catch { continue }
            if have != step.partitionsPerTopic {
                let stem = "weir-bench-p\(step.partitionsPerTopic)"
                progress("topic '\(name)' exists with \(have) partitions, not partitionsPerTopic=\(step.partitionsPerTopic); this step uses \(stem)-0 …")
                return stem
            }
        }
        return nil
    }

    /// Member `member` of consumer group `group` on `topic`, subscribed; a group new to this run
    /// starts at the topic's end (`auto.offset.reset=latest`, pinned by `_pinStart` once the
    /// groups settle).
    func _makeConsumer(topic: String, group: String, member: Int, properties: [String: String]) async throws(BenchError) -> any MessageConsumer {
        var props = properties
        props["group.id"] = group
        props["client.id"] = "\(group)-\(member)"
        if props["auto.offset.reset"] == nil { props["auto.offset.reset"] = "latest" }
        if props["enable.auto.commit"] == nil { props["enable.auto.commit"] = "true" }
        do {
            let consumer = try await client.makeConsumer(properties: props)
            try await consumer.subscribe(topics: [topic], listener: nil)
            return consumer
        } catch {
            throw _benchError(error, "cannot create a consumer of '\(topic)' in group \(group)")
        }
    }

    /// Polls the members of every group from tasks of their own until every group is settled:
    /// its members together hold each of the topic's partitions once, and every member that
    /// can have a partition has one. The step's schedule starts after that, so joining a
    /// group is setup, not a stall of the step.
    ///
    /// All groups settle together: settling them one after another left the members of the
    /// later groups unpolled for minutes (a hundred topics), and their groups then waited out
    /// rebalance timeouts. The deadline is 60 s plus 0.5 s per group.
    ///
    /// A worker's share of a group (`--worker I/N`) holds only some of the partitions, so there
    /// each of its members must have joined (and together hold distinct partitions); a share
    /// still unsettled at the deadline goes on with a note (the other workers may hold it all).
    func _settle(groups: [(topic: String, members: [any MessageConsumer])], share: Bool = false) async throws(BenchError) {
        let pending = groups.filter { !$0.members.isEmpty }
        guard !pending.isEmpty else { return }
        var partitions: [Int] = []
        for (topic, _) in pending {
            do { partitions.append(try await client.partitionCount(topic)) } catch { throw _benchError(error, "cannot read topic '\(topic)'") }
        }
        let seconds = 60.0 + 0.5 * Double(pending.count)
        let deadline = MonotonicDeadline(afterSeconds: seconds)
        let counts = partitions
        let done = _Flag()
        await withTaskGroup(of: Void.self) { tasks in
            for (_, members) in pending {
                for c in members {
                    tasks.addTask {
                        while !done.isSet && !deadline.hasPassed {
                            _ = try? await c.poll(timeout: .milliseconds(5))
                        }
                    }
                }
            }
            tasks.addTask {
                // Polling stops only after one sweep finds every group settled: a group that
                // settled early can be disturbed by a late member. A sweep stops at the first
                // group still settling.
                sweeps: while !deadline.hasPassed {
                    for i in pending.indices where !(await Self._settled(pending[i].members, partitions: counts[i], share: share)) {
                        try? await Task.sleep(for: .milliseconds(5))
                        continue sweeps
                    }
                    break
                }
                done.set()
            }
        }
        for (i, (topic, members)) in pending.enumerated() where !(await Self._settled(members, partitions: counts[i], share: share)) {
            if share {
                progress("worker: this worker's \(members.count) consumers of '\(topic)' hold no partition after \(Int(seconds)) s; going on")
                continue
            }
            throw BenchError(.backend, "the \(members.count) consumers of '\(topic)' did not settle into one assignment of its \(counts[i]) partitions within \(Int(seconds)) s.")
        }
    }

    /// Whether `members` together hold each of `partitions` partitions once, every member that
    /// can have a partition has one, and (where the backend says) every member has completed a
    /// join of one generation with no rebalance under way. Without the last check a group of
    /// more members than partitions looked settled before its idle members had joined; polling
    /// stopped, and their joins then waited out the rebalance timeout.
    static func _settled(_ members: [any MessageConsumer], partitions: Int, share: Bool = false) async -> Bool {
        var held: [TopicPartition] = []
        var busy = 0
        var generations = Set<Int32>()
        for c in members {
            if let m = await c.groupMembership() {
                guard m.isStable else { return false }
                generations.insert(m.generation)
            }
            let a = await c.assignment()
            held += a
            if !a.isEmpty { busy += 1 }
        }
        if share {
            // Joined: stable where the backend says, else holding a partition.
            return generations.count <= 1 && Set(held).count == held.count && (busy > 0 || generations.count == 1)
        }
        return generations.count <= 1 && held.count == partitions && Set(held).count == partitions && busy == min(members.count, partitions)
    }

    /// Pins where every settled member starts before the schedule does: each partition it holds
    /// gets a committed offset (its end now, unless it has one already: another worker's member
    /// committed it) and the member's position is set there with a seek.
    ///
    /// Without the seek, a librdkafka consumer resolves `auto.offset.reset=latest` lazily, after
    /// its assignment: records produced in the first milliseconds of the schedule landed before
    /// the offset it resolved, and were never read (the drain then counted them unconsumed).
    /// Without the commit, a member that gets the partition later (a rebalance: another worker's
    /// consumers joining, a restarted consumer, a coordinator that was down) would start at the
    /// end of the log and skip what was produced meanwhile.
    func _pinStart(_ groups: [(topic: String, members: [any MessageConsumer])]) async throws(BenchError) {
        for (topic, members) in groups {
            for c in members {
                var start: [TopicPartition: Int64] = [:]
                var missing: [TopicPartition] = []
                for tp in await c.assignment() {
                    do {
                        if let offset = try await c.committed(tp) { start[tp] = offset } else { missing.append(tp) }
                    } catch {
                        throw _benchError(error, "cannot read the committed offset of \(tp.topic)-\(tp.partition)")
                    }
                }
                do {
                    if !missing.isEmpty {
                        let ends = try await client.endOffsets(missing)
                        try await c.commit(ends)
                        start.merge(ends) { $1 }
                    }
                    for (tp, offset) in start { try await c.seek(tp, to: offset) }
                } catch {
                    throw _benchError(error, "cannot set the starting offsets of the consumers of '\(topic)'")
                }
            }
        }
    }

    /// A producer on the thread path, its acknowledgements recorded through `ring` (its
    /// thread's, shared by the producers that thread drives).
    func _makeProducer(topic: String, index: Int, ring: _DeliveryRing, properties: [String: String],
                       transactionNanos: UInt64) async throws(BenchError) -> _BenchProducer {
        var props = properties
        if props["client.id"] == nil { props["client.id"] = "weir-bench-\(index)" }
        let producerCount = workload.topicNames.count * workload.producersPerTopic
        if let id = props["transactional.id"], producerCount > 1 { props["transactional.id"] = "\(id)-\(index)" }
        let completed = _Counts()
        let producer: any MessageProducer
        do {
            producer = try await client.makeProducer(properties: props) { report in
                ring.delivered(report)
                completed._add(report.opaques.count)
            }
        } catch {
            throw _benchError(error, "cannot create a producer")
        }
        let p = _BenchProducer(producer: producer, topic: topic, ring: ring, completed: completed, stampInValue: workload.pattern != nil)
        if let id = props["transactional.id"] {
            do {
                p.transaction = try await Self._transactional(producer, id: id)
            } catch {
                await producer.close()
                throw error
            }
            p.transactionNanos = transactionNanos
        }
        return p
    }
}

/// A flag set once, read from other tasks.
final class _Flag: Sendable {
    let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}

/// A client error as the bench reports it: a bad property is a usage error (exit code 2).
func _benchError(_ error: ClientError, _ context: String) -> BenchError {
    error.code == .invalidConfig ? .usage("--config: \(error.message)") : BenchError(.backend, "\(context): \(error.message)")
}

/// Where a producer's acknowledgements are recorded: the publish latency (acknowledgement time
/// minus intended send time) into a single-writer `LatencyRecorder`; callers serialise.
final class DeliverySink: Sendable {
    let recorder: LatencyRecorder
    let acked: _Counts

    init(recorder: LatencyRecorder, acked: _Counts) {
        self.recorder = recorder
        self.acked = acked
    }

    /// A record was acknowledged at `now` (a `monotonicNanos()` reading).
    @inline(__always)
    func delivered(intendedNanos: UInt64, bytes: Int, at now: UInt64) {
        recorder.record(latencyNanos: now &- intendedNanos, bytes: bytes, now: now)
        acked._add(1)
    }

    /// `count` records failed.
    func failed(_ count: Int) {
        recorder.recordErrors(count, now: monotonicNanos())
        acked._add(count)
        acked._failed(count)
    }
}

/// A counter the drain logic waits on: one per sink, so producers never share a cache line.
final class _Counts: Sendable {
    let value: Atomic<Int>
    let failures: Atomic<Int>
    init() {
        value = Atomic(0)
        failures = Atomic(0)
    }
    func _add(_ n: Int) { value.add(n, ordering: .relaxed) }
    func _failed(_ n: Int) { failures.add(n, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

/// The intended send time and size of each record in flight, by opaque (a sequence number of
/// the generator thread, shared by the producers it drives): written by that thread before
/// `produceNow`, read by the delivery handlers, which may run inside `produceNow` or on the
/// client's threads.
final class _DeliveryRing: @unchecked Sendable {
    static let capacity = 1 << 18
    /// Records handed over but not yet acknowledged, at most, per generator thread: like
    /// `buffer.memory`, it bounds the queue an unthrottled producer builds (and so its latency
    /// and the final drain), and keeps every opaque in flight within the ring.
    static let maxInFlight = 1 << 15
    let mask = UInt64(_DeliveryRing.capacity - 1)
    let intended: UnsafeMutablePointer<UInt64>
    let sizes: UnsafeMutablePointer<Int32>
    let sink: DeliverySink
    /// The sink takes one thread at a time; reports may come from several.
    let sinkLock = Mutex<Void>(())
    let queued = Atomic<Int>(0)
    let completed = Atomic<Int>(0)
    /// The next opaque (the generator thread's).
    var next: UInt64 = 0

    init(sink: DeliverySink) {
        self.sink = sink
        intended = .allocate(capacity: Self.capacity)
        intended.initialize(repeating: 0, count: Self.capacity)
        sizes = .allocate(capacity: Self.capacity)
        sizes.initialize(repeating: 0, count: Self.capacity)
    }

    deinit {
        intended.deallocate()
        sizes.deallocate()
    }

    /// Back-pressure: waits while `maxInFlight` records are in flight, then counts one more
    /// and returns its opaque. The wait is charged to the records' publish delay and latency,
    /// as a blocking `send` in Kafka is.
    @inline(__always)
    func admit(intendedNanos: UInt64, bytes: Int) -> UInt64 {
        while queued.load(ordering: .relaxed) - completed.load(ordering: .relaxed) >= Self.maxInFlight {
            sleepNanos(50_000)
        }
        queued.add(1, ordering: .relaxed)
        let opaque = next
        next &+= 1
        intended[Int(opaque & mask)] = intendedNanos
        sizes[Int(opaque & mask)] = Int32(truncatingIfNeeded: bytes)
        return opaque
    }

    func finished(_ count: Int) {
        completed.add(count, ordering: .relaxed)
    }

    func delivered(_ report: DeliveryBatchReport) {
        let now = monotonicNanos()
        sinkLock.withLock { _ in
            switch report.result {
            case .success:
                for o in report.opaques {
                    let i = Int(o & mask)
                    sink.delivered(intendedNanos: intended[i], bytes: Int(sizes[i]), at: now)
                }
            case .failure:
                sink.failed(report.opaques.count)
            }
        }
        finished(report.opaques.count)
    }
}

/// One producer of the generator: sends each value unchanged with its intended send time in a
/// `SendStamp` header and as the record's timestamp (wall clock, ms), with `produceNow` from the
/// generator's thread; the delivery handler turns acknowledgements into publish latencies.
///
/// Pattern scenarios are the exception (`stampInValue`): their records travel through pattern
/// components (outbox rows, saga contexts) that keep only the value, so there the stamp
/// overwrites the value's first 8 bytes (`BenchStamp`).
final class _BenchProducer: @unchecked Sendable {
    let producer: any MessageProducer
    let topic: String
    let ring: _DeliveryRing
    let stampInValue: Bool
    /// Records handed over, and records acknowledged or failed (`flush` waits for them to meet).
    let queued = Atomic<Int>(0)
    let completed: _Counts
    /// (Pattern scenarios) the stamped copy of the value.
    var scratch: UnsafeMutableRawBufferPointer
    let sendErrors = Atomic<Int>(0)
    let closed = Atomic<Bool>(false)
    /// Transactional mode: the producer, a transaction's length on the schedule, when the open
    /// one ends (0 = at the first record plus its length) and the commits so far.
    var transaction: (any TransactionalMessageProducer)?
    var transactionNanos: UInt64 = 0
    var transactionEnd: UInt64 = 0
    let transactionsCommitted = Atomic<Int>(0)

    init(producer: any MessageProducer, topic: String, ring: _DeliveryRing, completed: _Counts, stampInValue: Bool = false) {
        self.producer = producer
        self.topic = topic
        self.ring = ring
        self.completed = completed
        self.stampInValue = stampInValue
        scratch = .allocate(byteCount: stampInValue ? 4096 : 0, alignment: 8)
    }

    deinit { scratch.deallocate() }

    var sink: DeliverySink { ring.sink }

    /// Sends `value` with the intended send time as its stamp.
    func send(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, intendedNanos: UInt64) {
        if stampInValue { return sendStampedValue(key: key, value: value, intendedNanos: intendedNanos) }
        if let transaction { nextTransaction(transaction, at: intendedNanos) }
        queued.add(1, ordering: .relaxed)
        let opaque = ring.admit(intendedNanos: intendedNanos, bytes: value.count + (key?.count ?? 0))
        do {
            try producer.produceNow(topic: topic, key: key, value: value, timestamp: BenchClock.wallMillis(monotonic: intendedNanos),
                                    stamp: intendedNanos, opaque: opaque)
        } catch {
            failed()
        }
    }

    /// A pattern scenario's send: a copy of `value` (padded to 8 bytes) with the stamp in front.
    func sendStampedValue(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, intendedNanos: UInt64) {
        let count = max(BenchStamp.size, value.count)
        if scratch.count < count {
            scratch.deallocate()
            scratch = .allocate(byteCount: count, alignment: 8)
        }
        if value.count > 0 { scratch.baseAddress!.copyMemory(from: value.baseAddress!, byteCount: value.count) }
        if value.count < BenchStamp.size { (scratch.baseAddress! + value.count).initializeMemory(as: UInt8.self, repeating: 0, count: BenchStamp.size - value.count) }
        BenchStamp.write(intendedNanos, into: scratch.baseAddress!)
        queued.add(1, ordering: .relaxed)
        let opaque = ring.admit(intendedNanos: intendedNanos, bytes: count + (key?.count ?? 0))
        do {
            try producer.produceNow(topic: topic, key: key, value: UnsafeRawBufferPointer(rebasing: scratch[0..<count]), opaque: opaque)
        } catch {
            failed()
        }
    }

    /// Commits the open transaction and begins the next when the schedule passed its end (the
    /// commit's time is charged to the records that wait for it, as in a blocking `send`).
    @inline(__always)
    func nextTransaction(_ t: any TransactionalMessageProducer, at intendedNanos: UInt64) {
        if transactionEnd == 0 { transactionEnd = intendedNanos &+ transactionNanos }
        guard intendedNanos >= transactionEnd else { return }
        transactionEnd = intendedNanos &+ transactionNanos
        if let error = _blockOn({ () async throws(ClientError) in try await t.commitTransaction() }) {
            sendErrors.add(1, ordering: .relaxed)
            _ = error
        } else {
            transactionsCommitted.add(1, ordering: .relaxed)
        }
        do { try t.beginTransaction() } catch { sendErrors.add(1, ordering: .relaxed) }
    }

    func failed() {
        sendErrors.add(1, ordering: .relaxed)
        ring.sinkLock.withLock { _ in ring.sink.failed(1) }
        ring.finished(1)
        completed._add(1)
    }

    /// Flushes until every record handed over is acknowledged or failed.
    func flush() async {
        while true {
            try? await producer.flush()
            if completed.current >= queued.load(ordering: .relaxed) { return }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    func close() async {
        if closed.exchange(true, ordering: .relaxed) { return }
        if let transaction {
            do { try await transaction.commitTransaction() } catch { sendErrors.add(1, ordering: .relaxed) }
            transactionsCommitted.add(1, ordering: .relaxed)
        }
        await flush()
        await producer.close()
    }
}
