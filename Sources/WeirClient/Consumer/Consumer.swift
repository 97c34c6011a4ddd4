public import WeirLog
import Foundation
import Synchronization
import WeirFormat

/// A consumer of the embedded log, with the Kafka consumer's semantics: subscribe (topics or a
/// pattern, with a group) or assign partitions, then `poll`, iterate `messages`, or `run` an
/// `eachMessage` / `eachBatch` handler.
///
/// ```swift
/// var config = ConsumerConfiguration(groupId: "orders")
/// config.autoOffsetReset = .earliest
/// let consumer = try Consumer(configuration: config, logDirectory: dir)
/// consumer.subscribe(topics: ["orders"])
/// try await consumer.run { message, context in
///     handle(message.key, message.value)   // views into the log, no copy
/// }
/// ```
///
/// Offsets: the position is the next offset to fetch; the committed offset is the next offset
/// to consume after a restart or a rebalance (last processed + 1, as Kafka commits it). Handlers
/// mark a record processed when they return (or with `resolveOffset`); `poll` marks the records
/// of the previous poll processed; the `messages` sequence marks a record processed when the
/// next one is requested.
public final class Consumer: Sendable {
    public let configuration: ConsumerConfiguration
    public let logDirectory: LogDirectory
    /// The group coordinator shared by the consumers of `logDirectory`.
    public let coordinator: GroupCoordinator

    enum _Subscription: Sendable, Equatable {
        case none
        case topics(Set<String>)
        case pattern(String)
        case assigned
    }

    struct _Partition: Sendable {
        var log: PartitionLog
        /// The next offset to fetch (nil: not yet known).
        var position: Int64?
        var paused = false
        /// The next offset to commit (last processed + 1).
        var consumed: Int64?
        /// Bumped on seek and revocation: batches fetched before are stale.
        var epoch: UInt64 = 0

        /// Adds what a fetch needs of this partition to `parts`, unless it is paused or has no
        /// position; false when it has none.
        ///
        /// Mutating only so that a call through `Dictionary.Values`' subscript works on the entry
        /// in place: its getter would copy the whole partition (two references to retain and
        /// release) for a few fields.
        mutating func _addFetchPart(_ tp: TopicPartition, to parts: inout _Few<_FetchPart>) -> Bool {
            guard let position else { return false }
            if !paused { parts.append(_FetchPart(tp: tp, log: log, position: position, epoch: epoch)) }
            return true
        }

        /// Moves the position past a delivered batch.
        mutating func _advance(past b: ConsumerBatch) {
            position = b.nextOffset
        }

        /// Marks a delivered batch processed, unless the position moved since.
        mutating func _markProcessed(_ b: ConsumerBatch) {
            guard position == b.nextOffset else { return }
            if (consumed ?? -1) < b.nextOffset { consumed = b.nextOffset }
        }
    }

    /// What a fetch needs of an assigned partition, copied out of the state.
    struct _FetchPart: Sendable {
        var tp: TopicPartition
        var log: PartitionLog
        var position: Int64
        var epoch: UInt64
    }

    /// A few elements, the first one inline: a poll of one partition builds no array for its
    /// partitions, batches or wait targets.
    struct _Few<Element>: RandomAccessCollection {
        var _first: Element? = nil
        var _rest: [Element] = []

        init() {}
        var startIndex: Int { 0 }
        var endIndex: Int { _first == nil ? 0 : 1 &+ _rest.count }
        subscript(i: Int) -> Element { i == 0 ? _first! : _rest[i &- 1] }

        mutating func append(_ e: Element) {
            if _first == nil { _first = e } else { _rest.append(e) }
        }
    }

    /// A fetch's outcome: the batches (one per partition with records), their bytes, and what
    /// to wait on for more.
    struct _Fetch {
        var batches = _Few<ConsumerBatch>()
        var bytes = 0
        var targets = _Few<_Target>()
    }

    struct _State: Sendable {
        var subscription: _Subscription = .none
        var listener: (any ConsumerRebalanceListener)?
        var partitions: [TopicPartition: _Partition] = [:]
        var order: [TopicPartition] = []
        var nextStart = 0
        var memberId: String?
        var generation: Int32 = -1
        var protocolName: ConsumerConfiguration.AssignmentStrategy?
        var joinedTopics: Set<String> = []
        var patternTopics: Set<String> = []
        var patternRefreshed: UInt64?
        var lastCommitted: [TopicPartition: Int64] = [:]
        /// When the last auto-commit happened (`_monotonicNanos`).
        var lastAutoCommit = _monotonicNanos()
        var closed = false
        /// `close()` started: no more joins.
        var closing = false
        var running = false
        var epochCounter: UInt64 = 0
        /// Group operations (a rejoin with its listener calls) and deliveries (records handed
        /// to `run`/`pollBlocking` handlers) in progress; `close()` waits for them to end.
        var activity = 0
        var idleWaiters: [CheckedContinuation<Void, Never>] = []

        /// Ends an activity; returns the `close()` calls to resume when it was the last one.
        mutating func _endActivity() -> [CheckedContinuation<Void, Never>] {
            activity -= 1
            guard activity == 0 else { return [] }
            defer { idleWaiters = [] }
            return idleWaiters
        }

        /// Whether `auto.commit.interval.ms` has passed since the last auto-commit, for a member
        /// of the group or a consumer with assigned partitions.
        func _autoCommitDue(now: Int64, intervalMs: Int64) -> Bool {
            guard now - lastAutoCommit >= intervalMs * 1_000_000 else { return false }
            if memberId != nil { return true }
            if case .assigned = subscription { return true }
            return false
        }

        /// Where a poll starts among the fetchable partitions (one further each poll).
        mutating func _nextStart() -> Int {
            defer { nextStart &+= 1 }
            return nextStart
        }
    }

    let _state = Mutex(_State())
    /// The generation in which this member learned that it must rejoin (a rebalance started,
    /// or its generation ended); -1 for none. Once the member has joined a later generation the
    /// request is obsolete, so a late heartbeat answer or hook cannot start another round.
    let _rejoinGeneration = Atomic<Int32>(-1)
    let _memberLost = Atomic<Bool>(false)
    let _joining = Atomic<Bool>(false)
    /// When the last poll started (`_monotonicNanos`), for `max.poll.interval.ms`.
    let _lastPoll = Atomic<Int64>(_monotonicNanos())
    /// Bumped to start or stop the heartbeat thread; a thread runs while it matches.
    let _heartbeatGeneration = Atomic<Int>(0)
    let _heartbeatRunning = Atomic<Bool>(false)
    let _decoder = Mutex(_BatchDecoder())
    /// Bumped by every seek, pause, resume, stop and assignment change, so a handler loop can
    /// notice them with one atomic load per record.
    let _revision = Atomic<UInt64>(0)
    /// Where `pollBlocking` parks its thread and `poll`/`run` suspend while waiting for data;
    /// the group coordinator wakes it for a rebalance.
    let _threadWaiter = HighWatermarkWaiter()
    /// When `pollBlocking` last compared the subscribed topics with the joined ones.
    let _topicsCheckedNanos = Atomic<Int64>(0)
    /// `wakeup()` was called: the next `pollBlocking` wait returns.
    let _wakeupRequested = Atomic<Bool>(false)
    /// The token of the `joinGroup` in flight (0: none), for `close()` to cancel it.
    let _joinToken = Atomic<UInt64>(0)
    static let _joinTokens = Atomic<UInt64>(0)

    /// A consumer of `logDirectory`.
    public init(configuration: ConsumerConfiguration = ConsumerConfiguration(), logDirectory: LogDirectory) throws(ClientError) {
        try configuration.validate()
        self.configuration = configuration
        self.logDirectory = logDirectory
        self.coordinator = GroupCoordinator.shared(for: logDirectory)
    }

    /// Parses Kafka-style properties (`group.id`, `auto.offset.reset`, …).
    public convenience init(properties: [String: String], logDirectory: LogDirectory) throws(ClientError) {
        try self.init(configuration: ConsumerConfiguration(properties: properties), logDirectory: logDirectory)
    }

    deinit {
        _stopHeartbeat()
    }

    /// Commits (with `enable.auto.commit`), calls `onPartitionsRevoked`, leaves the group (a
    /// dynamic member; a static member keeps its place until `session.timeout.ms`) and closes.
    ///
    /// A rebalance or a delivery in progress (records handed to a `run` or `pollBlocking`
    /// handler) finishes first, as KafkaJS's `disconnect` waits for the running handlers, so
    /// that the partitions are revoked after their last records were processed and committed.
    /// A join waiting for the other members is cancelled. Called from inside a `run` handler,
    /// it does not wait for that handler.
    public func close() async {
        defer { _revision.add(1, ordering: .releasing) }
        let already = _state._withLock { st in
            defer { st.closing = true; st.running = false }
            return st.closing
        }
        if already { return }
        _threadWaiter.wake()
        let token = _joinToken.load(ordering: .acquiring)
        if token != 0, let groupId = configuration.groupId { coordinator._cancelJoin(groupId: groupId, token: token) }
        if _RunContext.consumer != ObjectIdentifier(self) { await _awaitIdle() }
        await _leaveGroup(callListener: true)
        _stopHeartbeat()
        _state._withLock { $0.closed = true }
    }

    // MARK: - Activity (what close waits for)

    /// Starts a group operation or a delivery, unless the consumer is closing.
    func _beginActivity() -> Bool {
        _state._withLock { st in
            if st.closing { return false }
            st.activity += 1
            return true
        }
    }

    func _endActivity() {
        let waiters = _state._withLock { $0._endActivity() }
        for w in waiters { w.resume() }
    }

    /// Returns when no group operation or delivery is in progress.
    func _awaitIdle() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = _state._withLock { st -> Bool in
                if st.activity == 0 { return true }
                st.idleWaiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Stops without committing or leaving, as a crashed process would: the group notices when
    /// the session times out. For tests of failure handling.
    func _simulateCrash() {
        _stopHeartbeat()
        _state._withLock { $0.closed = true; $0.closing = true; $0.running = false }
    }
}

/// Marks the tasks of a `run` loop's handlers, so that `close()` called from a handler does not
/// wait for the delivery it is part of.
enum _RunContext {
    @TaskLocal static var consumer: ObjectIdentifier?
}

extension Consumer._Few: Sendable where Element: Sendable {}

extension Dictionary where Key == TopicPartition {
    /// The index of `tp`'s entry; with a single entry, one comparison instead of a hash lookup.
    @inline(__always)
    func _index(of tp: TopicPartition) -> Index? {
        if count == 1 {
            let i = startIndex
            return keys[i] == tp ? i : nil
        }
        return index(forKey: tp)
    }
}
