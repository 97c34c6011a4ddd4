import Foundation
import Synchronization
import WeirClientAPI
import WeirPatterns

// What every pattern scenario of this folder shares: options, the scenario's client over the
// step's client, the bridge from the client protocols' async consumers to the generator's
// consumer threads, and delivery helpers.

/// The workload's producer properties (`--config` keys of the producer scope).
func _producerProperties(_ w: Workload) -> [String: String] {
    ClientProperties.route(w.config).producer
}


/// A scenario's `pattern.KEY` options, read with defaults and ranges.
struct _PatternOptions {
    let values: [String: String]

    init(_ workload: Workload) { values = workload.patternOptions ?? [:] }

    func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(BenchError) -> Int {
        guard let text = values[key] else { return fallback }
        guard let v = Int(text), range.contains(v) else {
            throw .usage("pattern.\(key)=\(text) is out of range; allowed \(range.lowerBound)...\(range.upperBound).")
        }
        return v
    }

    func double(_ key: String, _ fallback: Double, _ range: ClosedRange<Double>) throws(BenchError) -> Double {
        guard let text = values[key] else { return fallback }
        guard let v = Double(text), range.contains(v) else {
            throw .usage("pattern.\(key)=\(text) is out of range; allowed \(range.lowerBound)...\(range.upperBound).")
        }
        return v
    }

    func bool(_ key: String, _ fallback: Bool) throws(BenchError) -> Bool {
        guard let v = values[key] else { return fallback }
        switch v.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .usage("pattern.\(key)=\(v) is not valid; allowed values true, false.")
        }
    }

    func choice(_ key: String, _ fallback: String, _ allowed: [String]) throws(BenchError) -> String {
        guard let v = values[key] else { return fallback }
        guard allowed.contains(v) else { throw .usage("pattern.\(key)=\(v) is not valid; allowed: \(allowed.joined(separator: ", ")).") }
        return v
    }

    /// A SQLite database with `schema` in a fresh directory (which the backend removes at its
    /// shutdown).
    static func openDatabase(_ scenario: String, schema: String) throws(BenchError) -> (directory: String, db: SQLiteDatabase) {
        let directory = NSTemporaryDirectory() + "weir-bench-\(scenario)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let db = try SQLiteDatabase(path: directory + "/\(scenario).db")
            try db.execute(schema)
            return (directory, db)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw BenchError(.backend, "\(scenario) scenario: cannot open its SQLite database in \(directory): \(error.message)")
        }
    }
}

/// What a scenario's consumer hands the generator's consumer thread: values its pattern
/// finished, polled with a timeout.
protocol _Feed: Sendable {
    /// Waits up to `timeoutNanos` for values and calls `body` with each. Returns how many.
    func poll(timeoutNanos: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int
    func close() async
}

/// A feed filled by an async pump over the client protocols: the pump hands values to
/// `deliver` (from its task); `poll` (the generator's consumer thread) passes them to its body.
final class _PatternConsumer: _Feed, @unchecked Sendable {
    let queue = Mutex<[[UInt8]]>([])
    let stop = Atomic<Bool>(false)
    var task: Task<Void, Never>?
    let closeBase: @Sendable () async -> Void

    /// `close` runs after the pump returned (release the pump's own clients there).
    init(pump: @escaping @Sendable (_ deliver: @escaping @Sendable ([UInt8]) -> Void, _ stopped: @escaping @Sendable () -> Bool) async -> Void,
         close: @escaping @Sendable () async -> Void = {}) {
        closeBase = close
        task = Task.detached { [self] in
            await pump({ v in self.queue.withLock { $0.append(v) } }, { self.stop.load(ordering: .relaxed) })
        }
    }

    /// A pump that calls `fetch` in a loop and delivers what it returns (a failed fetch is
    /// retried after 1 ms).
    convenience init(fetch: @escaping @Sendable () async throws -> [[UInt8]], close: @escaping @Sendable () async -> Void) {
        self.init(pump: { deliver, stopped in
            while !stopped() {
                do {
                    for v in try await fetch() { deliver(v) }
                } catch {
                    try? await Task.sleep(for: .milliseconds(1))
                }
            }
        }, close: close)
    }

    func poll(timeoutNanos: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        let deadline = monotonicNanos() &+ timeoutNanos
        var idle = 0
        while true {
            let values = queue.withLock { q -> [[UInt8]] in
                defer { q.removeAll(keepingCapacity: true) }
                return q
            }
            if !values.isEmpty {
                for v in values { v.withUnsafeBytes { body($0) } }
                return values.count
            }
            if monotonicNanos() >= deadline { return 0 }
            idle += 1
            sleepNanos(UInt64(min(200_000, 10_000 << min(idle, 5))))
        }
    }

    func close() async {
        stop.store(true, ordering: .relaxed)
        await task?.value
        await closeBase()
    }

    /// A consumer (of `group`, or without a group when nil) holding the partitions `p % members == member` of `topic`,
    /// positioned at their current end (as the generator's consumers are).
    static func assignedAtEnd(_ client: any MessagingClient, topic: String, group: String?, member: Int, members: Int) async throws(BenchError) -> any MessageConsumer {
        do {
            let mine = _share(of: topic, count: try await client.partitionCount(topic), member: member, members: members)
            let ends = try await client.endOffsets(mine)
            var properties = ["auto.offset.reset": "latest", "enable.auto.commit": "false"]
            if let group { properties["group.id"] = group }
            let consumer = try await client.makeConsumer(properties: properties)
            try await consumer.assign(mine)
            for tp in mine { try await consumer.seek(tp, to: ends[tp] ?? 0) }
            return consumer
        } catch {
            throw BenchError(.backend, "cannot consume '\(topic)': \(error.message)")
        }
    }
}

/// The last error a background task reported, for `details()`.
final class _LastError: Sendable {
    let message = Mutex<String?>(nil)
    func set(_ m: String) { message.withLock { $0 = m } }
    var value: String? { message.withLock { $0 } }
}

/// The outcome of a scenario producer's records for the generator's delivery handler.
func _report(_ handler: DeliveryHandler?, topic: String, opaques: [UInt64], ok: Bool) {
    guard let handler, !opaques.isEmpty else { return }
    let result: Result<Int64, ClientError> = ok ? .success(-1) : .failure(ClientError(.scenario, "the pattern failed to take the record"))
    handler(DeliveryBatchReport(topicPartition: TopicPartition(topic, -1), result: result, opaques: opaques))
}

extension ClientError.Code {
    /// A pattern scenario's own failure.
    static let scenario = ClientError.Code("scenario")
}

/// A scenario's client over the step's client: topics go to `base`; producers and consumers
/// are the scenario's where it gives them, `base`'s otherwise.
struct _ScenarioClient: MessagingClient {
    let base: any MessagingClient
    /// The scenario's producer (nil: `base`'s).
    var makeProducer: (@Sendable (_ properties: [String: String], _ onDelivery: DeliveryHandler?) async throws(BenchError) -> any MessageProducer)?
    /// The feed of member `member` of `group` on `topic`, and the partitions it holds (nil:
    /// `base`'s consumers).
    var makeFeed: (@Sendable (_ topic: String, _ group: String, _ member: Int) async throws(BenchError) -> (feed: any _Feed, partitions: [TopicPartition]))?
    /// Wraps `base`'s consumers (with `makeFeed` nil).
    var wrapConsumer: (@Sendable (_ consumer: any MessageConsumer, _ group: String) -> any MessageConsumer)?
    /// The scenario's counts for the step's `backend_details`.
    var moreDetails: @Sendable () async -> [String: String] = { [:] }
    /// Runs before `base` closes.
    var onClose: @Sendable () async -> Void = {}
    let members = _MemberCounter()

    init(base: any MessagingClient) { self.base = base }

    var backendName: String { base.backendName }

    func makeProducer(properties: [String: String], onDelivery: DeliveryHandler?) async throws(ClientError) -> any MessageProducer {
        guard let makeProducer else { return try await base.makeProducer(properties: properties, onDelivery: onDelivery) }
        do { return try await makeProducer(properties, onDelivery) } catch { throw ClientError(.scenario, error.message) }
    }

    func makeConsumer(properties: [String: String]) async throws(ClientError) -> any MessageConsumer {
        let group = properties["group.id"] ?? ""
        if let makeFeed {
            return _ScenarioConsumer(group: group, members: members, start: makeFeed)
        }
        let consumer = try await base.makeConsumer(properties: properties)
        return wrapConsumer.map { $0(consumer, group) } ?? consumer
    }

    func ensureTopic(_ name: String, partitions: Int, configs: [String: String]) async throws(ClientError) {
        try await base.ensureTopic(name, partitions: partitions, configs: configs)
    }

    func endOffsets(_ partitions: [TopicPartition]) async throws(ClientError) -> [TopicPartition: Int64] {
        try await base.endOffsets(partitions)
    }

    func partitionCount(_ topic: String) async throws(ClientError) -> Int { try await base.partitionCount(topic) }

    func details() async -> [String: String] {
        await base.details().merging(await moreDetails()) { $1 }
    }

    func close() async {
        await onClose()
        await base.close()
    }
}

/// Numbers the members of each group in the order the generator makes them.
final class _MemberCounter: Sendable {
    let next = Mutex<[String: Int]>([:])
    func take(_ group: String) -> Int {
        next.withLock { n in
            defer { n[group, default: 0] += 1 }
            return n[group, default: 0]
        }
    }

    /// How many members of `group` were numbered so far (at least 1).
    func count(_ group: String) -> Int { max(1, next.withLock { $0[group] ?? 0 }) }
}

/// A scenario's consumer as the generator sees it: `subscribe` starts the scenario's feed for
/// the topic (as the next member of its group), `pollBlocking` hands over what the feed
/// finished, and `assignment` is the partitions the feed holds. Offsets belong to the
/// pattern: `commit`, `seek`, `pause`, `resume` and `assign` are not supported.
final class _ScenarioConsumer: MessageConsumer, @unchecked Sendable {
    let group: String
    let members: _MemberCounter
    let start: @Sendable (_ topic: String, _ group: String, _ member: Int) async throws(BenchError) -> (feed: any _Feed, partitions: [TopicPartition])
    let state = Mutex<(feed: (any _Feed)?, partitions: [TopicPartition])>((nil, []))

    init(group: String, members: _MemberCounter,
         start: @escaping @Sendable (_ topic: String, _ group: String, _ member: Int) async throws(BenchError) -> (feed: any _Feed, partitions: [TopicPartition])) {
        self.group = group
        self.members = members
        self.start = start
    }

    func unsupported(_ what: String) -> ClientError {
        ClientError(.invalidState, "\(what) is not supported by a pattern scenario's consumer: its pattern owns the offsets.")
    }

    func subscribe(topics: [String], listener: (any MessageRebalanceListener)?) async throws(ClientError) {
        guard let topic = topics.first else { throw unsupported("subscribe without a topic") }
        let started: (feed: any _Feed, partitions: [TopicPartition])
        do { started = try await start(topic, group, members.take(group)) } catch { throw ClientError(.scenario, error.message) }
        state.withLock { $0 = (started.feed, started.partitions) }
    }

    func assign(_ partitions: [TopicPartition]) async throws(ClientError) { throw unsupported("assign") }

    /// Records reach the generator through `pollBlocking`; this waits and returns none.
    func poll(timeout: Duration) async throws(ClientError) -> [ConsumerRecord] {
        try? await Task.sleep(for: timeout)
        return []
    }

    func pollBlocking(timeout: Duration, _ body: (ConsumerRecordView) -> Void) throws(ClientError) -> Int {
        let nanos = UInt64(max(0, timeout._nanoseconds))
        guard let feed = state.withLock({ $0.feed }) else {
            sleepNanos(min(nanos, 1_000_000))
            return 0
        }
        return feed.poll(timeoutNanos: nanos) { value in body(ConsumerRecordView(partition: -1, offset: -1, key: nil, value: value)) }
    }

    func commit(_ offsets: [TopicPartition: Int64]) async throws(ClientError) { throw unsupported("commit") }
    func committed(_ partition: TopicPartition) async throws(ClientError) -> Int64? { nil }
    func seek(_ partition: TopicPartition, to offset: Int64) async throws(ClientError) { throw unsupported("seek") }
    func pause(_ partitions: [TopicPartition]) async throws(ClientError) { throw unsupported("pause") }
    func resume(_ partitions: [TopicPartition]) async throws(ClientError) { throw unsupported("resume") }
    func assignment() async -> [TopicPartition] { state.withLock { $0.partitions } }

    func close() async {
        let feed = state.withLock { s -> (any _Feed)? in defer { s.feed = nil }; return s.feed }
        await feed?.close()
    }
}

/// The partitions `p % members == member` of a topic of `count` partitions.
func _share(of topic: String, count: Int, member: Int, members: Int) -> [TopicPartition] {
    (0..<count).filter { $0 % members == member }.map { TopicPartition(topic, Int32($0)) }
}
