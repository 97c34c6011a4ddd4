import Foundation
import Synchronization
public import WeirClient
import WeirFormat
public import WeirLog

/// The default backend: Weir's own producer on the embedded segment log, in this process.
///
/// Runs in a fresh temporary log directory, removed at `shutdown()`, unless a directory is given
/// (`--log-dir`), which is kept. `--config` keys go where Kafka would take them: producer
/// properties (`batch.size`, `linger.ms`, `acks`, `compression.type`, …) to every `Producer`,
/// topic properties (`segment.bytes`, `flush.messages`, …) to the created topics, and the
/// consumer properties `check.crcs`, `max.partition.fetch.bytes` and `max.poll.records` to the
/// consumers.
///
/// Producers send from the generator's threads with `Producer.produceNow` (no task between the
/// generator and the accumulator; with `linger.ms=0` the generator's thread appends the batch
/// itself) and take acknowledgements through `Producer.onDelivery`. Consumers are WeirClient
/// `Consumer`s in a real group (group id `<group>.<topic>`: subscribe, coordinator, assignor,
/// auto-commit), polled from the generator's threads with `Consumer.pollBlocking`, which hands
/// zero-copy batches over and parks the thread until the log's appender wakes it.
///
/// `embedded.producer.path=task` and `embedded.consumer.path=log` select the earlier paths
/// (an AsyncStream and a task calling `produce`; static partition split reading `PartitionLog`
/// directly) for comparisons. `embedded.consumer.spin.us` (default 0) lets a consumer thread
/// spin that many µs on the high-water mark before it parks (`pollBlocking(idleSpin:)`).
public final class EmbeddedBackend: BenchBackend {
    public let logDirectory: LogDirectory
    public let producerConfiguration: ProducerConfiguration
    public let topicConfig: LogConfig
    let temporaryPath: String?
    let checkCRCs: Bool
    let maxPartitionFetchBytes: Int
    let maxPollRecords: Int
    let producers = Mutex<[any _EmbeddedProducing]>([])
    let consumerProperties: [String: String]
    let directProducer: Bool
    let groupConsumer: Bool
    /// `embedded.consumer.spin.us`: the consumers' spin before parking.
    let consumerSpin: Duration
    /// Consumers made but not yet in their group, per group id (joined together by the last).
    let pendingMembers = Mutex<[String: [Consumer]]>([:])

    /// Consumer properties the embedded consumers take.
    public static let consumerKeys = ["check.crcs", "max.partition.fetch.bytes", "max.poll.records", "fetch.max.bytes", "group.id", "auto.offset.reset", "enable.auto.commit",
                                      "fetch.min.bytes", "fetch.max.wait.ms", "isolation.level", "partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms", "auto.commit.interval.ms"]
    /// Backend keys: which producer and consumer paths to use (see the type's documentation).
    public static let backendKeys = ["embedded.producer.path", "embedded.consumer.path", "embedded.consumer.spin.us"]

    /// Opens the backend. `logDir` nil = a fresh temporary directory, removed at shutdown.
    ///
    /// - Throws: `.usage` for an unknown or out-of-range `config` key (naming it and the known
    ///   keys), `.backend` when the log directory cannot be opened.
    public init(logDir: String?, config: [String: String]) throws(BenchError) {
        var producerProps: [String: String] = [:]
        var topicProps: [String: String] = ["segment.bytes": String(128 << 20)]
        var consumerProps: [String: String] = [:]
        var backendProps: [String: String] = [:]
        for (key, value) in config {
            if ProducerConfiguration.knownKeys.contains(key) || ProducerConfiguration.aliases[key] != nil {
                producerProps[key] = value
            } else if LogConfig.knownKeys.contains(key) {
                topicProps[key] = value
            } else if Self.consumerKeys.contains(key) {
                consumerProps[key] = value
            } else if Self.backendKeys.contains(key) {
                backendProps[key] = value
            } else {
                throw .usage("unknown config key '\(key)'. Producer keys: \(ProducerConfiguration.knownKeys.joined(separator: ", ")); topic keys: \(LogConfig.knownKeys.joined(separator: ", ")); consumer keys: \(Self.consumerKeys.joined(separator: ", ")); backend keys: \(Self.backendKeys.joined(separator: ", ")).")
            }
        }
        switch backendProps["embedded.producer.path"] ?? "direct" {
        case "direct": directProducer = true
        case "task": directProducer = false
        case let v: throw .usage("embedded.producer.path=\(v) is not valid; allowed values direct (produceNow from the generator's threads), task (AsyncStream and a task calling produce).")
        }
        switch backendProps["embedded.consumer.path"] ?? "group" {
        case "group": groupConsumer = true
        case "log": groupConsumer = false
        case let v: throw .usage("embedded.consumer.path=\(v) is not valid; allowed values group (Consumer in a group, pollBlocking), log (static split, PartitionLog reads).")
        }
        consumerSpin = .microseconds(try Self.int(backendProps["embedded.consumer.spin.us"] ?? "0", key: "embedded.consumer.spin.us", 0...1_000_000))
        var pc = ProducerConfiguration()
        do { try pc.apply(producerProps) } catch { throw .usage("--config: \(error.message)") }
        pc.deliveryReportsEnabled = !directProducer
        do { try pc.validate() } catch { throw .usage("--config: \(error.message)") }
        let tc: LogConfig
        do { tc = try LogConfig(properties: topicProps) } catch { throw .usage("--config: \(error.message)") }
        checkCRCs = try Self.bool(consumerProps["check.crcs"] ?? "true", key: "check.crcs")
        maxPartitionFetchBytes = try Self.int(consumerProps["max.partition.fetch.bytes"] ?? "1048576", key: "max.partition.fetch.bytes", 1...Int(Int32.max))
        maxPollRecords = try Self.int(consumerProps["max.poll.records"] ?? "500", key: "max.poll.records", 1...Int(Int32.max))
        var cp = consumerProps
        cp["auto.offset.reset"] = cp["auto.offset.reset"] ?? "latest"
        cp["group.id"] = nil
        do { _ = try ConsumerConfiguration(properties: cp.merging(["group.id": "check"]) { a, _ in a }) } catch { throw .usage("--config: \(error.message)") }
        consumerProperties = cp
        producerConfiguration = pc
        topicConfig = tc
        let path: String
        if let logDir {
            path = logDir
            temporaryPath = nil
        } else {
            path = NSTemporaryDirectory() + "weir-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            temporaryPath = path
        }
        var options = LogDirectory.Options()
        options.defaultConfig = tc
        do { logDirectory = try LogDirectory.open(path: path, options: options) } catch {
            throw BenchError(.backend, "cannot open the log directory '\(path)': \(error.message)")
        }
    }

    static func bool(_ v: String, key: String) throws(BenchError) -> Bool {
        switch v.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .usage("\(key)=\(v) is not valid; allowed values true, false.")
        }
    }

    static func int(_ v: String, key: String, _ range: ClosedRange<Int>) throws(BenchError) -> Int {
        guard let n = Int(v), range.contains(n) else { throw .usage("\(key)=\(v) is out of range; allowed range \(range.lowerBound)...\(range.upperBound).") }
        return n
    }

    public var name: String { "embedded" }

    public func createTopics(_ names: [String], partitions: Int) async throws(BenchError) {
        for name in names {
            do {
                try logDirectory.createTopic(name, partitions: partitions, config: topicConfig)
            } catch where error.code == .topicAlreadyExists {
                let have = (try? logDirectory.partitionCount(name)) ?? 0
                if have < partitions {
                    throw BenchError(.backend, "topic '\(name)' exists in the log directory with \(have) partitions, fewer than partitionsPerTopic=\(partitions); use a fresh --log-dir or fewer partitions.")
                }
            } catch {
                throw BenchError(.backend, "cannot create topic '\(name)': \(error.message)")
            }
        }
    }

    public func makeProducer(topic: String, index: Int, sink: DeliverySink) async throws(BenchError) -> any BenchProducer {
        var config = producerConfiguration
        config.clientId = "weir-bench-\(index)"
        let producer: Producer
        do { producer = try Producer(configuration: config, logDirectory: logDirectory) } catch {
            throw BenchError(.backend, "cannot create a producer: \(error.message)")
        }
        let p: any _EmbeddedProducing = directProducer
            ? DirectEmbeddedProducer(producer: producer, topic: topic, sink: sink)
            : EmbeddedProducer(producer: producer, topic: topic, sink: sink)
        producers.withLock { $0.append(p) }
        return p
    }

    public func makeConsumer(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> any BenchConsumer {
        if groupConsumer { return try await makeGroupConsumer(topic: topic, group: group, member: member, members: members) }
        let count: Int
        do { count = try logDirectory.partitionCount(topic) } catch { throw BenchError(.backend, "cannot subscribe to '\(topic)': \(error.message)") }
        var logs: [PartitionLog] = []
        for p in 0..<count where p % members == member {
            do { logs.append(try logDirectory.partition(topic, Int32(p))) } catch { throw BenchError(.backend, error.message) }
        }
        return EmbeddedConsumer(partitions: logs, checkCRCs: checkCRCs, maxBytes: maxPartitionFetchBytes, maxRecords: maxPollRecords)
    }

    /// A `Consumer` subscribed to `topic` in group `<group>.<topic>`. The last member of a group
    /// makes every member join together (each polls from its own task until the group is stable
    /// with all of them in one generation), so the step starts with the assignment settled.
    func makeGroupConsumer(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> any BenchConsumer {
        let groupId = "\(group).\(topic)"
        var props = consumerProperties
        props["group.id"] = groupId
        props["client.id"] = "weir-bench-\(group)-\(member)"
        let consumer: Consumer
        do {
            consumer = try Consumer(properties: props, logDirectory: logDirectory)
            try consumer.subscribe(topics: [topic])
        } catch {
            throw BenchError(.backend, "cannot create a consumer of '\(topic)' in group \(groupId): \(error.message)")
        }
        let all: [Consumer]? = pendingMembers.withLock { p in
            p[groupId, default: []].append(consumer)
            guard member == members - 1 else { return nil }
            return p.removeValue(forKey: groupId)
        }
        if let all { try await Self.joinTogether(all, groupId: groupId) }
        return GroupEmbeddedConsumer(consumer: consumer, spin: consumerSpin)
    }

    /// Polls every member from its own task until the group is stable with all of them in the
    /// same generation (a member joining starts a round the others must rejoin).
    static func joinTogether(_ members: [Consumer], groupId: String) async throws(BenchError) {
        guard let coordinator = members.first?.coordinator else { return }
        let stable: @Sendable () -> Bool = {
            let d = coordinator.describeGroup(groupId)
            return d.state == .stable && d.members.count == members.count
                && members.allSatisfy { $0.groupMetadata()?.generationId == d.generationId }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        await withTaskGroup(of: Void.self) { tasks in
            for c in members {
                tasks.addTask {
                    while ContinuousClock.now < deadline && !stable() {
                        _ = try? await c.poll(timeout: .milliseconds(5))
                    }
                }
            }
        }
        if !stable() {
            throw BenchError(.backend, "the \(members.count) consumers of group \(groupId) did not settle into one generation within 60 s; see weir groups describe \(groupId).")
        }
    }

    public func statistics() async -> BackendStatistics {
        var s = BackendStatistics()
        for p in producers.withLock({ $0 }) {
            let st = p.producer.statistics
            s.producedBatchBytes += st.bytesSent
            s.producedBatches += st.batchesSent
            s.failedRecords += st.recordsFailed + Int64(p.sendErrorCount)
            s.retries += st.retries
        }
        return s
    }

    public func shutdown() async {
        for p in producers.withLock({ $0 }) { await p.close() }
        try? logDirectory.close()
        if let temporaryPath { try? FileManager.default.removeItem(atPath: temporaryPath) }
    }
}

/// What the backend needs of its producers besides `BenchProducer`.
protocol _EmbeddedProducing: BenchProducer {
    var producer: Producer { get }
    var sendErrorCount: Int { get }
}

/// The records an embedded producer has in flight, for both producer paths: handed over
/// (`queued`) and acknowledged or failed (`completed`).
final class _InFlight: Sendable {
    let queued = Atomic<Int>(0)
    let completed = Atomic<Int>(0)

    /// Back-pressure, like `buffer.memory`: waits while `limit` records are in flight, then
    /// counts one more. The wait is charged to the records' publish delay and latency, as a
    /// blocking `send` in Kafka is.
    func admit(limit: Int) {
        while queued.load(ordering: .relaxed) - completed.load(ordering: .relaxed) >= limit {
            sleepNanos(50_000)
        }
        queued.add(1, ordering: .relaxed)
    }

    func finished(_ count: Int = 1) {
        completed.add(count, ordering: .relaxed)
    }

    /// Flushes `producer` until every record handed over is acknowledged or failed.
    func drain(_ producer: Producer) async {
        while true {
            await producer.flush()
            if completed.load(ordering: .relaxed) >= queued.load(ordering: .relaxed) { return }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// One embedded producer on the generator's thread: `Producer.produceNow` encodes each record
/// straight into its partition's batch (and, when the batch is ready, appends it to the log)
/// from that thread; `onDelivery` turns acknowledged batches into publish latencies. Each
/// record's intended send time and size wait in a ring indexed by the record's opaque (a
/// sequence number of this producer), written before the send, so a delivery that happens
/// inside `produceNow` finds them.
final class DirectEmbeddedProducer: _EmbeddedProducing, @unchecked Sendable {
    let producer: Producer
    let topic: String
    let sink: DeliverySink
    let intended: UnsafeMutablePointer<UInt64>
    let sizes: UnsafeMutablePointer<Int32>
    let mask = UInt64(EmbeddedProducer.capacity - 1)
    /// The generator thread's next opaque, and its stamped copy of the value.
    var next: UInt64 = 0
    var scratch: UnsafeMutableRawBufferPointer
    let inFlight = _InFlight()
    let sendErrors = Atomic<Int>(0)
    /// Delivery reports may come from the generator's thread and from drainer tasks at once;
    /// the sink takes one thread at a time.
    let sinkLock = Mutex<Void>(())
    let closed = Atomic<Bool>(false)

    init(producer: Producer, topic: String, sink: DeliverySink) {
        self.producer = producer
        self.topic = topic
        self.sink = sink
        intended = .allocate(capacity: EmbeddedProducer.capacity)
        intended.initialize(repeating: 0, count: EmbeddedProducer.capacity)
        sizes = .allocate(capacity: EmbeddedProducer.capacity)
        sizes.initialize(repeating: 0, count: EmbeddedProducer.capacity)
        scratch = .allocate(byteCount: 4096, alignment: 8)
        producer.onDelivery { [unowned self] report in self.delivered(report) }
    }

    deinit {
        intended.deallocate()
        sizes.deallocate()
        scratch.deallocate()
    }

    var sendErrorCount: Int { sendErrors.load(ordering: .relaxed) }

    func send(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, intendedNanos: UInt64, sentNanos: UInt64) {
        inFlight.admit(limit: EmbeddedProducer.maxInFlight)
        let count = max(BenchStamp.size, value.count)
        if scratch.count < count {
            scratch.deallocate()
            scratch = .allocate(byteCount: count, alignment: 8)
        }
        if value.count > 0 { scratch.baseAddress!.copyMemory(from: value.baseAddress!, byteCount: value.count) }
        if value.count < BenchStamp.size { (scratch.baseAddress! + value.count).initializeMemory(as: UInt8.self, repeating: 0, count: BenchStamp.size - value.count) }
        BenchStamp.write(intendedNanos, into: scratch.baseAddress!)
        let opaque = next
        next &+= 1
        intended[Int(opaque & mask)] = intendedNanos
        sizes[Int(opaque & mask)] = Int32(count + (key?.count ?? 0))
        do {
            try producer.produceNow(topic: topic, key: key, value: UnsafeRawBufferPointer(rebasing: scratch[0..<count]), opaque: opaque)
        } catch {
            sendErrors.add(1, ordering: .relaxed)
            inFlight.finished()
        }
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
        inFlight.finished(report.opaques.count)
    }

    func flush() async { await inFlight.drain(producer) }

    func close() async {
        if closed.exchange(true, ordering: .relaxed) { return }
        await flush()
        await producer.close()
        producer.onDelivery(nil)
    }
}

/// One embedded producer through a task (`embedded.producer.path=task`): the generator's
/// thread hands records to a task that calls the async `Producer.produce`; a second task turns
/// delivery reports into publish latencies. The intended send time of each record waits in a
/// ring indexed by the producer's message id.
final class EmbeddedProducer: _EmbeddedProducing, @unchecked Sendable {
    struct Pending: Sendable {
        var key: [UInt8]?
        var value: [UInt8]
    }

    let producer: Producer
    let topic: String
    let sink: DeliverySink
    let continuation: AsyncStream<Pending>.Continuation
    let stream: AsyncStream<Pending>
    /// Ring of intended send times and sizes by message id (`id & mask`); the pump writes an
    /// entry before `produce` returns the id, the report task reads it after the report.
    let intended: UnsafeMutablePointer<UInt64>
    let sizes: UnsafeMutablePointer<Int32>
    static let capacity = 1 << 18
    /// Records handed over but not yet acknowledged, at most: like `buffer.memory`, it bounds
    /// the queue an unthrottled producer builds (and so its latency and the final drain).
    static let maxInFlight = 1 << 15
    let mask = UInt64(EmbeddedProducer.capacity - 1)
    let inFlight = _InFlight()
    let sendErrors = Atomic<Int>(0)
    let tasks = Mutex<[Task<Void, Never>]>([])
    let closed = Atomic<Bool>(false)

    init(producer: Producer, topic: String, sink: DeliverySink) {
        self.producer = producer
        self.topic = topic
        self.sink = sink
        (stream, continuation) = AsyncStream<Pending>.makeStream(bufferingPolicy: .unbounded)
        intended = .allocate(capacity: Self.capacity)
        intended.initialize(repeating: 0, count: Self.capacity)
        sizes = .allocate(capacity: Self.capacity)
        sizes.initialize(repeating: 0, count: Self.capacity)
        let pump = Task.detached { [self] in await self.pump() }
        let reports = Task.detached { [self] in await self.reports() }
        tasks.withLock { $0 = [pump, reports] }
    }

    deinit {
        intended.deallocate()
        sizes.deallocate()
    }

    var sendErrorCount: Int { sendErrors.load(ordering: .relaxed) }

    func send(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, intendedNanos: UInt64, sentNanos: UInt64) {
        inFlight.admit(limit: Self.maxInFlight)
        let v = BenchStamp.stampedCopy(of: value, nanos: intendedNanos)
        continuation.yield(Pending(key: key.map { Array($0) }, value: v))
    }

    func pump() async {
        var next: UInt64 = 0
        for await p in stream {
            let size = Int32(p.value.count + (p.key?.count ?? 0))
            let stamp = p.value.withUnsafeBytes { BenchStamp.read($0) } ?? 0
            intended[Int(next & mask)] = stamp
            sizes[Int(next & mask)] = size
            do {
                let id = try await producer.produce(ProducerRecord(topic: topic, key: p.key, value: p.value))
                if id != next {
                    intended[Int(id & mask)] = stamp
                    sizes[Int(id & mask)] = size
                }
                next = id &+ 1
            } catch {
                sendErrors.add(1, ordering: .relaxed)
                inFlight.finished()
            }
        }
    }

    func reports() async {
        for await report in producer.deliveryReports {
            let i = Int(report.id & mask)
            switch report.result {
            case .success: sink.delivered(intendedNanos: intended[i], bytes: Int(sizes[i]))
            case .failure: sink.failed(1)
            }
            inFlight.finished()
        }
    }

    func flush() async { await inFlight.drain(producer) }

    func close() async {
        if closed.exchange(true, ordering: .relaxed) { return }
        await flush()
        continuation.finish()
        let t = tasks.withLock { $0 }
        await t[0].value
        await producer.close()
        await t[1].value
    }
}

/// One embedded consumer through WeirClient's `Consumer`, polled by the generator's thread with
/// `pollBlocking` (zero-copy batches; the thread parks until the appender wakes it).
final class GroupEmbeddedConsumer: BenchConsumer, @unchecked Sendable {
    let consumer: Consumer
    let spin: Duration
    let errors = Atomic<Int>(0)

    init(consumer: Consumer, spin: Duration) {
        self.consumer = consumer
        self.spin = spin
    }

    func poll(timeoutNanos: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        do {
            return try consumer.pollBlocking(timeout: .nanoseconds(Int64(min(timeoutNanos, UInt64(Int64.max)))), idleSpin: spin) { batch in
                for m in batch { body(m.value ?? UnsafeRawBufferPointer(start: nil, count: 0)) }
            }
        } catch {
            errors.add(1, ordering: .relaxed)
            sleepNanos(1_000_000)
            return 0
        }
    }

    func close() async { await consumer.close() }
}

/// One embedded consumer reading `PartitionLog` directly (`embedded.consumer.path=log`): a
/// static split of the partitions (partition `p` to member `p % members`), zero-copy.
final class EmbeddedConsumer: BenchConsumer, @unchecked Sendable {
    let partitions: [PartitionLog]
    var positions: [Int64]
    let decoder: RecordBatchDecoder
    let maxBytes: Int
    let maxRecords: Int
    var cursor = 0
    let errors = Atomic<Int>(0)

    init(partitions: [PartitionLog], checkCRCs: Bool, maxBytes: Int, maxRecords: Int) {
        self.partitions = partitions
        self.positions = partitions.map(\.highWatermark)
        self.decoder = RecordBatchDecoder(checkCRCs: checkCRCs)
        self.maxBytes = maxBytes
        self.maxRecords = maxRecords
    }

    func poll(timeoutNanos: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        guard !partitions.isEmpty else {
            sleepNanos(min(timeoutNanos, 1_000_000))
            return 0
        }
        let deadline = monotonicNanos() &+ timeoutNanos
        var idle = 0
        while true {
            var n = 0
            for step in 0..<partitions.count {
                let i = (cursor + step) % partitions.count
                let log = partitions[i]
                let position = positions[i]
                guard position < log.highWatermark else { continue }
                let result: LogReadResult
                do { result = try log.read(from: position, maxBytes: maxBytes) } catch {
                    errors.add(1, ordering: .relaxed)
                    continue
                }
                for batch in result.batches where !batch.isControl {
                    batch.withUnsafeBytes { raw in
                        do {
                            try decoder.forEachRecord(in: raw) { record in
                                guard record.offset >= position else { return }
                                if let v = record.value { body(v) } else { body(UnsafeRawBufferPointer(start: nil, count: 0)) }
                                n += 1
                            }
                        } catch {
                            errors.add(1, ordering: .relaxed)
                        }
                    }
                }
                positions[i] = result.nextOffset
                if n >= maxRecords { break }
            }
            cursor = (cursor + 1) % partitions.count
            if n > 0 { return n }
            if monotonicNanos() >= deadline { return 0 }
            // Idle: back off from 10 µs to 200 µs between polls (the timer slack of bench
            // threads is 1 µs), which bounds both the added end-to-end latency and the wakeups.
            idle += 1
            sleepNanos(UInt64(min(200_000, 10_000 << min(idle, 5))))
        }
    }

    func close() async {}
}
