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
        var patternRefreshed: ContinuousClock.Instant?
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

    // MARK: - Subscription and assignment

    /// Subscribes to `topics` with the group (`group.id` is required); partitions are assigned
    /// by the group coordinator at the next poll.
    public func subscribe(topics: [String], listener: (any ConsumerRebalanceListener)? = nil) throws(ClientError) {
        try _authorizeRead(topics: topics, group: configuration.groupId)
        try _subscribe(.topics(Set(topics)), listener)
    }

    /// Subscribes to every topic whose whole name matches the regular expression `pattern`
    /// (internal topics such as `__consumer_offsets` excluded); new topics are picked up every
    /// `metadata.max.age.ms`.
    public func subscribe(pattern: String, listener: (any ConsumerRebalanceListener)? = nil) throws(ClientError) {
        do { _ = try Regex(pattern) } catch {
            throw ClientError(.invalidConfig, "the topic pattern '\(pattern)' is not a valid regular expression: \(error).")
        }
        try _authorizeRead(topics: [], group: configuration.groupId)
        try _subscribe(.pattern(pattern), listener)
    }

    func _subscribe(_ s: _Subscription, _ listener: (any ConsumerRebalanceListener)?) throws(ClientError) {
        guard configuration.groupId != nil else {
            throw ClientError(.invalidConfig, "subscribe needs group.id; set group.id, or use assign(_:) without a group.", key: "group.id")
        }
        try _state._withLock { (st) throws(ClientError) in
            if st.closed { throw Self._closedError }
            if st.subscription == .assigned {
                throw ClientError(.illegalState, "this consumer uses assign(_:); call unsubscribe() before subscribe.")
            }
            st.subscription = s
            st.listener = listener
            st.patternRefreshed = nil
        }
    }

    /// Assigns partitions manually (no group management; commits still go to `group.id` if set).
    public func assign(_ partitions: [TopicPartition]) throws(ClientError) {
        try _authorizeRead(topics: Set(partitions.map(\.topic)), group: nil)
        var logs: [TopicPartition: PartitionLog] = [:]
        for tp in partitions {
            do { logs[tp] = try logDirectory.partition(tp) } catch { throw ClientError(error) }
        }
        try _state._withLock { (st) throws(ClientError) in
            if st.closed { throw Self._closedError }
            if case .topics = st.subscription { throw ClientError(.illegalState, "this consumer is subscribed; call unsubscribe() before assign.") }
            if case .pattern = st.subscription { throw ClientError(.illegalState, "this consumer is subscribed; call unsubscribe() before assign.") }
            st.subscription = partitions.isEmpty ? .none : .assigned
            var next: [TopicPartition: _Partition] = [:]
            for tp in partitions { next[tp] = st.partitions[tp] ?? _Partition(log: logs[tp]!) }
            st.partitions = next
            st.order = next.keys.sorted()
        }
    }

    /// Leaves the group (committing first with `enable.auto.commit`) and drops the assignment.
    public func unsubscribe() async {
        await _leaveGroup(callListener: true)
        _state._withLock { st in
            st.subscription = .none
            st.partitions = [:]
            st.order = []
        }
    }

    /// The partitions assigned to this consumer now.
    public func assignment() -> [TopicPartition] { _state._withLock { $0.order } }

    /// The subscribed topics (for a pattern, the topics it matched at the last refresh).
    public func subscription() -> [String] {
        _state._withLock { st in
            switch st.subscription {
            case .topics(let t): t.sorted()
            case .pattern: st.patternTopics.sorted()
            default: []
            }
        }
    }

    /// The group generation this consumer is part of (Kafka's `groupMetadata()`), nil outside a group.
    public func groupMetadata() -> ConsumerGroupMetadata? {
        guard let g = configuration.groupId else { return nil }
        return _state._withLock { st in
            st.memberId.map { ConsumerGroupMetadata(groupId: g, generationId: st.generation, memberId: $0, groupInstanceId: configuration.groupInstanceId) }
        }
    }

    // MARK: - Positions

    /// Moves the position of an assigned partition: the next poll fetches from `offset`.
    public func seek(_ tp: TopicPartition, to offset: Int64) throws(ClientError) {
        try _withPartition(tp) { (p, st) in
            p.position = offset
            st.epochCounter += 1
            p.epoch = st.epochCounter
        }
    }

    /// Seeks to the log-start offset of each partition.
    public func seekToBeginning(_ partitions: [TopicPartition]) throws(ClientError) {
        for tp in partitions { try _withPartition(tp) { (p, st) in p.position = p.log.logStartOffset; st.epochCounter += 1; p.epoch = st.epochCounter } }
    }

    /// Seeks to the high-water mark of each partition.
    public func seekToEnd(_ partitions: [TopicPartition]) throws(ClientError) {
        for tp in partitions { try _withPartition(tp) { (p, st) in p.position = p.log.highWatermark; st.epochCounter += 1; p.epoch = st.epochCounter } }
    }

    /// Seeks to the first record whose timestamp is ≥ `timestamp` (ms), or the end.
    public func seek(_ tp: TopicPartition, toTimestamp timestamp: Int64) throws(ClientError) {
        try _withPartition(tp) { (p, st) in
            p.position = p.log.offset(forTimestamp: timestamp)?.offset ?? p.log.highWatermark
            st.epochCounter += 1
            p.epoch = st.epochCounter
        }
    }

    /// The next offset this consumer fetches from `tp` (resolving it from the committed offset or
    /// `auto.offset.reset` when not yet known).
    public func position(_ tp: TopicPartition) throws(ClientError) -> Int64 {
        try _resolvePositions()
        return try _withPartition(tp) { (p, _) in p.position ?? 0 }
    }

    /// The group's committed offset of `tp` (nil without `group.id` or without a commit).
    public func committed(_ tp: TopicPartition) -> OffsetAndMetadata? {
        guard let g = configuration.groupId else { return nil }
        return coordinator.committedOffsets(groupId: g)[tp]
    }

    /// Stops fetching from these partitions (their positions are kept).
    public func pause(_ partitions: [TopicPartition]) throws(ClientError) {
        for tp in partitions { try _withPartition(tp) { (p, _) in p.paused = true } }
    }

    /// Resumes fetching from these partitions.
    public func resume(_ partitions: [TopicPartition]) throws(ClientError) {
        for tp in partitions { try _withPartition(tp) { (p, _) in p.paused = false } }
    }

    /// The paused partitions.
    public func paused() -> [TopicPartition] { _state._withLock { st in st.order.filter { st.partitions[$0]!.paused } } }

    /// The log-start offsets (Kafka's `beginningOffsets`).
    public func beginningOffsets(_ partitions: [TopicPartition]) throws(ClientError) -> [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        for tp in partitions { do { out[tp] = try logDirectory.partition(tp).logStartOffset } catch { throw ClientError(error) } }
        return out
    }

    /// The high-water marks, or last stable offsets with `read_committed` (Kafka's `endOffsets`).
    public func endOffsets(_ partitions: [TopicPartition]) throws(ClientError) -> [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        for tp in partitions {
            do {
                let log = try logDirectory.partition(tp)
                out[tp] = configuration.isolationLevel == .readCommitted ? log.lastStableOffset : log.highWatermark
            } catch { throw ClientError(error) }
        }
        return out
    }

    /// Records not yet consumed per assigned partition: end offset − position.
    public func lag() -> [TopicPartition: Int64] {
        _state._withLock { st in
            st.partitions.mapValues { p in
                let end = configuration.isolationLevel == .readCommitted ? p.log.lastStableOffset : p.log.highWatermark
                return max(0, end - (p.position ?? p.log.logStartOffset))
            }
        }
    }

    static let _closedError = ClientError(.consumerClosed, "the consumer is closed; create a new one.")
    /// How often a poll compares the subscribed topics with the joined ones.
    static let _topicsCheckIntervalNanos: Int64 = 100_000_000

    func _withPartition<R>(_ tp: TopicPartition, _ body: (inout _Partition, inout _State) -> R) throws(ClientError) -> R {
        try _state._withLock { (st) throws(ClientError) -> R in
            guard var p = st.partitions[tp] else {
                throw ClientError(.illegalState, "\(tp) is not assigned to this consumer (assignment: \(st.order.map(\.description).joined(separator: ", "))).")
            }
            let r = body(&p, &st)
            st.partitions[tp] = p
            _revision.add(1, ordering: .releasing)
            return r
        }
    }

    /// Gives every partition without a position one: the committed offset, else
    /// `auto.offset.reset`.
    func _resolvePositions() throws(ClientError) {
        let missing = _state._withLock { st in st.order.filter { st.partitions[$0]!.position == nil } }
        guard !missing.isEmpty else { return }
        let committed = configuration.groupId.map { coordinator.committedOffsets(groupId: $0) } ?? [:]
        for tp in missing {
            let offset: Int64
            if let c = committed[tp] {
                offset = c.offset
            } else {
                offset = try _reset(tp, reason: "no committed offset")
            }
            _state._withLock { st in
                if st.partitions[tp]?.position == nil {
                    st.partitions[tp]?.position = offset
                    if committed[tp] != nil { st.lastCommitted[tp] = offset }
                }
            }
        }
    }

    /// The offset `auto.offset.reset` gives `tp`.
    func _reset(_ tp: TopicPartition, reason: String) throws(ClientError) -> Int64 {
        let log: PartitionLog
        do { log = try logDirectory.partition(tp) } catch { throw ClientError(error) }
        switch configuration.autoOffsetReset {
        case .earliest: return log.logStartOffset
        case .latest: return log.highWatermark
        case .none:
            throw ClientError(.noOffset, "\(tp): \(reason) and auto.offset.reset=none; commit an offset, seek, or set auto.offset.reset to earliest or latest.")
        }
    }

    // MARK: - Polling

    /// Kafka's `poll`: returns up to `max.poll.records` owned records, waiting up to `timeout`
    /// for some (an empty array after the timeout). The records returned by the previous poll
    /// count as processed (their offsets are what auto-commit commits).
    public func poll(timeout: Duration) async throws(ClientError) -> [ConsumerRecord] {
        _markPositionsConsumed()
        let batches = try await _pollBatches(timeout: timeout)
        var out: [ConsumerRecord] = []
        for b in batches { for m in b { out.append(m.copy()) } }
        return out
    }

    /// Polls batches (one per partition that had records) and moves the positions past them.
    /// `maxRecords` bounds the records of the whole poll (nil: `max.poll.records`). With
    /// `delivery`, returning batches starts an activity (see `_beginActivity`) that the caller
    /// ends with `_endActivity()` once its handlers are done with them.
    func _pollBatches(timeout: Duration, maxRecords: Int? = nil, delivery: Bool = false) async throws(ClientError) -> [ConsumerBatch] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let fetchDeadline = clock.now + .milliseconds(configuration.fetchMaxWaitMs)
        while true {
            if _state._withLock({ $0.closed || $0.closing }) { throw Self._closedError }
            _lastPoll.store(_monotonicNanos(), ordering: .relaxed)
            try await _maintainGroup()
            try _maybeAutoCommit()
            try _resolvePositions()
            let fetch = try _fetchOnce(_fetchable(), maxRecords: maxRecords)
            let now = clock.now
            if !fetch.batches.isEmpty && (fetch.bytes >= configuration.fetchMinBytes || now >= fetchDeadline || now >= deadline) {
                if delivery {
                    guard _beginDelivery(fetch.batches) else { throw Self._closedError }
                } else {
                    _advance(fetch.batches)
                }
                return Array(fetch.batches)
            }
            if fetch.batches.isEmpty, !fetch.targets.isEmpty, fetch.targets.allSatisfy({ $0.ended }) {
                // Only control records / aborted transactions were there: move past them.
                _advancePositions(fetch.targets)
            }
            if now >= deadline { return [] }
            let until = min(deadline, fetch.batches.isEmpty ? deadline : fetchDeadline, now + .milliseconds(max(1, configuration.fetchMaxWaitMs)))
            await _waitForData(fetch.targets, until: until)
            if Task.isCancelled { throw ClientError(.cancelled, "the poll was cancelled.") }
        }
    }

    /// The partitions a fetch reads, in `order` from `start` on (a poll starts one further than
    /// the last).
    struct _Fetchable {
        var parts = _Few<_FetchPart>()
        var start = 0
    }

    /// The partitions to fetch from: assigned, not paused, with a position.
    func _fetchable() -> _Fetchable {
        var f = _Fetchable()
        _state._withLock { st in _ = _fetchable(&st, into: &f, unlessUnpositioned: false) }
        return f
    }

    /// Under the state lock: fills `f` with the partitions to fetch from; with
    /// `unlessUnpositioned`, returns false instead when an assigned partition has no position.
    func _fetchable(_ st: inout _State, into f: inout _Fetchable, unlessUnpositioned: Bool) -> Bool {
        if st.order.count == 1, st.partitions.count == 1, st.partitions.keys[st.partitions.startIndex] == st.order[0] {
            // One partition: no hashing.
            let i = st.partitions.startIndex
            if !st.partitions.values[i]._addFetchPart(st.order[0], to: &f.parts) && unlessUnpositioned { return false }
        } else {
            for tp in st.order {
                guard let i = st.partitions.index(forKey: tp) else { continue }
                if !st.partitions.values[i]._addFetchPart(tp, to: &f.parts) && unlessUnpositioned { return false }
            }
        }
        f.start = st._nextStart()
        return true
    }

    /// The checks a poll makes before it fetches (closed; group join or rejoin needed;
    /// auto-commit due; partitions without a position), and when none of them has work to do,
    /// the partitions to fetch from, in `f`: one lock hold for a poll that finds everything
    /// settled. False when there is work; the caller then goes through the steps one by one.
    ///
    /// - Parameter now: `_monotonicNanos()` at the start of the poll.
    /// - Throws: `.consumerClosed`.
    func _settledFetchable(now: Int64, into f: inout _Fetchable) throws(ClientError) -> Bool {
        let autoCommit = configuration.groupId != nil && configuration.enableAutoCommit
        return try _state._withLock { (st) throws(ClientError) -> Bool in
            if st.closed || st.closing { throw Self._closedError }
            // Join, rejoin or the periodic topic check: `_groupMaintenanceNeeded`'s job.
            if _groupCheck(st.subscription, memberId: st.memberId, generation: st.generation, now: now) != .settled { return false }
            if autoCommit && st._autoCommitDue(now: now, intervalMs: configuration.autoCommitIntervalMs) { return false }
            return _fetchable(&st, into: &f, unlessUnpositioned: true)
        }
    }

    struct _Target: Sendable {
        var tp: TopicPartition
        var log: PartitionLog
        /// The offset data must pass to be worth a new fetch.
        var waitAbove: Int64
        var nextPosition: Int64
        var ended: Bool
        var epoch: UInt64
    }

    /// One fetch over the fetchable partitions (`_fetchable`), without waiting: at most
    /// `maxRecords` records (nil: `max.poll.records`), within `max.partition.fetch.bytes` and
    /// `fetch.max.bytes`.
    func _fetchOnce(_ fetchable: _Fetchable, maxRecords: Int? = nil) throws(ClientError) -> _Fetch {
        let parts = fetchable.parts, start = fetchable.start
        var fetch = _Fetch()
        guard !parts.isEmpty else { return fetch }
        var budget = maxRecords ?? configuration.maxPollRecords
        let committed = configuration.isolationLevel == .readCommitted
        for i in 0..<parts.count {
            let part = parts.count == 1 ? parts[0] : parts[(start &+ i) % parts.count]
            let tp = part.tp
            var position = part.position
            let log = part.log
            let limit = committed ? log.lastStableOffset : log.highWatermark
            var read: LogReadResult
            do {
                read = try log.read(from: position, maxBytes: max(1, min(configuration.maxPartitionFetchBytes, configuration.fetchMaxBytes - fetch.bytes)), maxOffset: limit)
            } catch where error.code == .offsetOutOfRange {
                position = try _reset(tp, reason: "position \(position) is out of range [\(log.logStartOffset), \(log.highWatermark)]")
                _state._withLock { $0.partitions[tp]?.position = position }
                do { read = try log.read(from: position, maxBytes: configuration.maxPartitionFetchBytes, maxOffset: limit) } catch { throw ClientError(error) }
            } catch {
                throw ClientError(error)
            }
            var target = _Target(tp: tp, log: log, waitAbove: max(position, read.highWatermark), nextPosition: position, ended: false, epoch: part.epoch)
            if read.batches.isEmpty || budget == 0 {
                fetch.targets.append(target)
                continue
            }
            // read_committed: the log's aborted-transaction index (Kafka's `.txnindex`) says which
            // transactional batches to skip: those of an aborted transaction's producer between
            // its first offset and its abort marker.
            let aborted = committed ? log.abortedTransactions(from: position, upTo: read.nextOffset) : []
            let batch = try _decoder._withLock { (d) throws(ClientError) -> ConsumerBatch in
                try d.decode(tp, batches: read.batches, from: position, maxRecords: budget, checkCRCs: configuration.checkCRCs,
                             highWatermark: read.highWatermark, lastStableOffset: read.lastStableOffset) { h in
                    h.isTransactional && !aborted.isEmpty && aborted.contains {
                        $0.producerId == h.producerId && $0.firstOffset <= h.baseOffset && h.lastOffset < $0.lastOffset
                    }
                }
            }
            target.nextPosition = batch.nextOffset
            target.ended = batch.isEmpty && batch.nextOffset > position
            fetch.targets.append(target)
            if !batch.isEmpty {
                fetch.batches.append(batch)
                fetch.bytes += read.byteCount
                budget -= batch.count
            }
        }
        return fetch
    }

    /// Moves positions past delivered batches.
    func _advance(_ batches: _Few<ConsumerBatch>) {
        _state._withLock { st in _advance(&st, batches) }
    }

    func _advance(_ st: inout _State, _ batches: _Few<ConsumerBatch>) {
        for b in batches {
            if let i = st.partitions._index(of: b.topicPartition) { st.partitions.values[i]._advance(past: b) }
        }
    }

    /// Starts a delivery of `batches` (see `_beginActivity`) and moves the positions past them;
    /// false when the consumer is closing.
    func _beginDelivery(_ batches: _Few<ConsumerBatch>) -> Bool {
        _state._withLock { st in
            if st.closing { return false }
            st.activity += 1
            _advance(&st, batches)
            return true
        }
    }

    func _advancePositions(_ targets: _Few<_Target>) {
        _state._withLock { st in
            for t in targets where t.ended && st.partitions[t.tp]?.epoch == t.epoch { st.partitions[t.tp]?.position = t.nextPosition }
        }
    }

    /// Waits (without spinning) until one of the partitions gets new data, or `until`.
    func _waitForData(_ targets: _Few<_Target>, until: ContinuousClock.Instant) async {
        let timeout = until - ContinuousClock.now
        guard timeout > .zero else { return }
        // One wait on every partition (with none, just the timeout), which the group
        // coordinator's rebalance hook also ends. With read_committed, an open transaction holds
        // the last stable offset back; its end is a marker append, which moves the high-water
        // mark these waits watch.
        await _threadWaiter.wait(for: targets.map { ($0.log, $0.waitAbove) }, timeout: timeout)
    }

    // MARK: - Commits

    /// Marks every position as processed (for `poll`: the previous poll's records are done).
    func _markPositionsConsumed() {
        _state._withLock { st in
            for tp in st.order { if let pos = st.partitions[tp]!.position { st.partitions[tp]!.consumed = pos } }
        }
    }

    /// Marks `offset` of `tp` processed: `offset + 1` is committed next.
    func _markProcessed(_ tp: TopicPartition, offset: Int64, epoch: UInt64? = nil) {
        _state._withLock { st in
            guard let p = st.partitions[tp], epoch == nil || p.epoch == epoch else { return }
            if (p.consumed ?? -1) < offset + 1 { st.partitions[tp]!.consumed = offset + 1 }
        }
    }

    /// Commits the processed offsets of every assigned partition (Kafka's `commitSync()`).
    public func commit() throws(ClientError) {
        let offsets = _state._withLock { st in
            st.partitions.compactMapValues { p in p.consumed }.filter { st.lastCommitted[$0.key] != $0.value }
        }
        try commit(offsets)
    }

    /// Commits explicit offsets: for each partition, the next offset to consume (last processed
    /// + 1), as Kafka's `commitSync(Map)` and KafkaJS's `commitOffsets` take them.
    public func commit(_ offsets: [TopicPartition: Int64], metadata: String = "") throws(ClientError) {
        guard !offsets.isEmpty else { return }
        guard let group = configuration.groupId else {
            throw ClientError(.invalidConfig, "commit needs group.id; set group.id to store offsets.", key: "group.id")
        }
        try _authorizeRead(topics: [], group: group)
        let (member, generation) = _state._withLock { st in (st.subscription == .assigned ? nil : st.memberId, st.generation) }
        if member == nil, _state._withLock({ st in st.subscription != .assigned && st.subscription != .none }) {
            throw ClientError(.rebalanceInProgress, "not a member of group \(group) yet (or any more); poll to join, then commit.", isRetriable: true)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try coordinator.commitOffsets(groupId: group, memberId: member, generationId: generation,
                                      offsets.mapValues { OffsetAndMetadata(offset: $0, metadata: metadata, commitTimestamp: now) })
        _state._withLock { st in for (tp, o) in offsets { st.lastCommitted[tp] = o } }
    }

    /// Commits when `enable.auto.commit` is set and `auto.commit.interval.ms` has passed since
    /// the last auto-commit (KafkaJS's `commitOffsetsIfNecessary`).
    public func commitOffsetsIfNecessary() throws(ClientError) {
        try _maybeAutoCommit()
    }

    /// - Parameter now: `_monotonicNanos()`, read by the caller or here.
    func _maybeAutoCommit(now: Int64 = _monotonicNanos()) throws(ClientError) {
        guard configuration.enableAutoCommit, configuration.groupId != nil else { return }
        let due = _state._withLock { st in
            if st._autoCommitDue(now: now, intervalMs: configuration.autoCommitIntervalMs) {
                st.lastAutoCommit = now
                return true
            }
            return false
        }
        if due {
            do { try commit() } catch where error.code == .rebalanceInProgress {
                // The generation is over; the next poll rejoins.
                _requestRejoin(generation: _state._withLock { $0.generation })
            }
        }
    }

    /// Commits the processed offsets of `partitions` before they go (auto-commit only).
    func _commitBeforeRevoke(_ partitions: [TopicPartition]) {
        guard configuration.enableAutoCommit, configuration.groupId != nil else { return }
        let offsets = _state._withLock { st in
            var o: [TopicPartition: Int64] = [:]
            for tp in partitions { if let c = st.partitions[tp]?.consumed, st.lastCommitted[tp] != c { o[tp] = c } }
            return o
        }
        try? commit(offsets)
    }

    // MARK: - Group membership

    func _subscribedTopics() -> Set<String>? {
        let (sub, refreshed, cached) = _state._withLock { ($0.subscription, $0.patternRefreshed, $0.patternTopics) }
        switch sub {
        case .topics(let t):
            return Set(t.filter { logDirectory.topicNames.contains($0) })
        case .pattern(let p):
            if let r = refreshed, ContinuousClock.now - r < .milliseconds(configuration.metadataMaxAgeMs) { return cached }
            guard let regex = try? Regex(p) else { return [] }
            let topics = Set(logDirectory.topicNames.filter { !$0.hasPrefix("__") && (try? regex.wholeMatch(in: $0)) != nil && _mayRead($0) })
            _state._withLock { $0.patternTopics = topics; $0.patternRefreshed = .now }
            return topics
        default:
            return nil
        }
    }

    /// Joins or rejoins the group when needed, calling the rebalance listener.
    func _maintainGroup() async throws(ClientError) {
        guard let groupId = configuration.groupId, let topics = _subscribedTopics() else { return }
        if _state._withLock({ $0.closing }) { throw Self._closedError }
        let (memberId, joined, listener, owned, proto, generation) = _state._withLock { st in
            (st.memberId, st.joinedTopics, st.listener, st.order, st.protocolName, st.generation)
        }
        let lost = _memberLost.exchange(false, ordering: .acquiringAndReleasing)
        guard memberId == nil || lost || _rejoinRequested(generation) || topics != joined else { return }
        // The whole rejoin, listener calls included, is one activity: `close()` waits for it
        // rather than revoking and leaving halfway through.
        guard _beginActivity() else { throw Self._closedError }
        defer { _endActivity() }
        var currentMember = memberId
        if lost {
            if !owned.isEmpty { await listener?.onPartitionsLost(owned, consumer: self) }
            _state._withLock { st in
                st.partitions = [:]
                st.order = []
                st.memberId = nil
            }
            currentMember = nil
        } else if (proto ?? configuration.partitionAssignmentStrategy[0]) != .cooperativeSticky && !owned.isEmpty {
            _commitBeforeRevoke(owned)
            await listener?.onPartitionsRevoked(owned, consumer: self)
            _state._withLock { st in
                st.partitions = [:]
                st.order = []
            }
        }
        _joining.store(true, ordering: .releasing)
        defer { _joining.store(false, ordering: .releasing) }
        var attempts = 0
        var response: JoinGroupResponse
        var assignment: [TopicPartition]
        while true {
            attempts += 1
            let ownedNow = _state._withLock { $0.order }
            var request = JoinGroupRequest(groupId: groupId, memberId: currentMember ?? "", groupInstanceId: configuration.groupInstanceId,
                                           clientId: configuration.clientId, topics: topics, protocols: configuration.partitionAssignmentStrategy,
                                           sessionTimeoutMs: configuration.sessionTimeoutMs, rebalanceTimeoutMs: configuration.maxPollIntervalMs,
                                           ownedPartitions: ownedNow)
            request._joinToken = Self._joinTokens.wrappingAdd(1, ordering: .relaxed).newValue
            _joinToken.store(request._joinToken, ordering: .releasing)
            defer { _joinToken.store(0, ordering: .releasing) }
            if _state._withLock({ $0.closing }) { throw Self._closedError }
            do {
                response = try await coordinator.joinGroup(request)
                // From here on this consumer is that member: a retry after a failed sync must
                // rejoin under the same id, or the group would wait a whole rebalance timeout
                // for the orphaned member (several members joining at once hit this).
                currentMember = response.memberId
                assignment = try coordinator.syncGroup(groupId: groupId, memberId: response.memberId, generationId: response.generationId)
                break
            } catch where error.code == .rebalanceInProgress && attempts < 100 {
                if _state._withLock({ $0.closing }) { throw Self._closedError }
                if coordinator.heartbeat(groupId: groupId, memberId: currentMember ?? "", generationId: -1) == .unknownMember {
                    currentMember = nil
                }
                if Task.isCancelled { throw ClientError(.cancelled, "joining group \(groupId) was cancelled.") }
                continue
            }
        }
        let new = Set(assignment)
        var logs: [TopicPartition: PartitionLog] = [:]
        for tp in new { logs[tp] = try? logDirectory.partition(tp) }
        let installed = _state._withLock { st -> ([TopicPartition], [TopicPartition])? in
            st.memberId = response.memberId
            // Closing: keep the member id (close leaves the group with it), take nothing.
            if st.closing { return nil }
            st.generation = response.generationId
            st.protocolName = response.protocolName
            st.joinedTopics = topics
            let old = Set(st.order)
            return (old.subtracting(new).sorted(), new.subtracting(old).sorted())
        }
        guard let (revoked, added) = installed else { throw Self._closedError }
        if !revoked.isEmpty {
            _commitBeforeRevoke(revoked)
            await listener?.onPartitionsRevoked(revoked, consumer: self)
            // Incremental protocol: the revoked partitions go to their new owner in the next round.
            if response.protocolName == .cooperativeSticky { _requestRejoin(generation: response.generationId) }
        }
        _state._withLock { st in
            for tp in revoked { st.partitions[tp] = nil; st.lastCommitted[tp] = nil }
            for tp in added { if let log = logs[tp] { st.partitions[tp] = _Partition(log: log) } }
            st.order = st.partitions.keys.sorted()
            st.epochCounter += 1
        }
        _revision.add(1, ordering: .releasing)
        let weak = _WeakConsumer(self)
        coordinator._onRebalance(groupId: groupId, memberId: response.memberId) { generation in
            guard let c = weak.value else { return }
            c._requestRejoin(generation: generation)
            c._threadWaiter.wake()
        }
        await listener?.onPartitionsAssigned(added, consumer: self)
        _startHeartbeat()
    }

    /// Starts the heartbeat thread (Kafka's consumer heartbeat thread): a dedicated thread, so
    /// that handlers keeping the cooperative pool busy do not make the session time out — only
    /// `max.poll.interval.ms` judges the processing loop.
    func _startHeartbeat() {
        guard !_heartbeatRunning.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let generation = _heartbeatGeneration.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
        let weak = _WeakConsumer(self)
        let interval = Double(configuration.heartbeatIntervalMs) / 1000
        let thread = Thread {
            while true {
                do {
                    guard let c = weak.value, c._heartbeatGeneration.load(ordering: .acquiring) == generation, c._heartbeatOnce() else { return }
                }
                Thread.sleep(forTimeInterval: interval)
            }
        }
        thread.name = "weir.consumer.heartbeat"
        thread.start()
    }

    func _stopHeartbeat() {
        _heartbeatGeneration.wrappingAdd(1, ordering: .acquiringAndReleasing)
        _heartbeatRunning.store(false, ordering: .releasing)
    }

    final class _WeakConsumer: @unchecked Sendable {
        weak var value: Consumer?
        init(_ c: Consumer) { value = c }
    }

    /// One heartbeat; false when the loop should stop.
    func _heartbeatOnce() -> Bool {
        guard let groupId = configuration.groupId else { return false }
        let (closed, memberId, generation) = _state._withLock { ($0.closed, $0.memberId, $0.generation) }
        if closed { return false }
        guard let memberId, !_joining.load(ordering: .acquiring) else { return true }
        let sincePoll = _monotonicNanos() - _lastPoll.load(ordering: .relaxed)
        if sincePoll > configuration.maxPollIntervalMs * 1_000_000 {
            // Kafka: the member leaves so the group can move on; the next poll rejoins.
            coordinator.leaveGroup(groupId: groupId, memberId: memberId)
            _state._withLock { if $0.memberId == memberId { $0.memberId = nil } }
            _memberLost.store(true, ordering: .releasing)
            return true
        }
        switch coordinator.heartbeat(groupId: groupId, memberId: memberId, generationId: generation) {
        case .ok: break
        case .rebalanceInProgress, .illegalGeneration:
            _requestRejoin(generation: generation)
            _threadWaiter.wake()
        case .unknownMember:
            // Only when the answer is about the member this consumer still is (a rejoin under a
            // new id may have happened since the heartbeat was sent).
            if _state._withLock({ $0.memberId == memberId }) {
                _memberLost.store(true, ordering: .releasing)
                _threadWaiter.wake()
            }
        }
        return true
    }

    /// Asks for a rejoin, learned in `generation` (kept if a later one is already recorded).
    func _requestRejoin(generation: Int32) {
        var current = _rejoinGeneration.load(ordering: .acquiring)
        while current < generation {
            let (exchanged, original) = _rejoinGeneration.compareExchange(expected: current, desired: generation, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }

    /// Whether a rejoin was requested in the member's current `generation` (or later).
    func _rejoinRequested(_ generation: Int32) -> Bool {
        let r = _rejoinGeneration.load(ordering: .acquiring)
        return r >= 0 && r >= generation
    }

    /// Sends a heartbeat now (KafkaJS's `heartbeat()` inside a long handler).
    public func heartbeat() {
        _ = _heartbeatOnce()
    }

    func _leaveGroup(callListener: Bool) async {
        defer { _revision.add(1, ordering: .releasing) }
        let (memberId, owned, listener) = _state._withLock { ($0.memberId, $0.order, $0.listener) }
        guard let groupId = configuration.groupId else { return }
        if _state._withLock({ $0.subscription == .assigned }) {
            if configuration.enableAutoCommit { try? commit() }
            return
        }
        guard let memberId else { return }
        _commitBeforeRevoke(owned)
        if callListener && !owned.isEmpty { await listener?.onPartitionsRevoked(owned, consumer: self) }
        _stopHeartbeat()
        // A static member does not leave: a restart within session.timeout.ms keeps its partitions.
        if configuration.groupInstanceId == nil { coordinator.leaveGroup(groupId: groupId, memberId: memberId) }
        _state._withLock { st in
            st.memberId = nil
            st.partitions = [:]
            st.order = []
        }
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
