import CRdKafka
import Foundation
import Synchronization
public import WeirClientAPI
import WeirFormat

/// A topic and partition.
public struct KafkaTopicPartition: Sendable, Hashable, Codable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)-\(partition)" }
}

/// A change of a consumer's assignment, as its rebalance callback saw it.
public enum KafkaRebalanceEvent: Sendable, Equatable {
    /// Partitions added (all of them under the eager protocol; the increment under
    /// `partition.assignment.strategy=cooperative-sticky`).
    case assigned([KafkaTopicPartition], cooperative: Bool)
    /// Partitions taken away.
    case revoked([KafkaTopicPartition], cooperative: Bool)
    /// The rebalance failed (`rd_kafka_assign(NULL)` was called).
    case failed(KafkaError)
}

/// A record as `KafkaConsumer.poll` lends it: valid only inside the body.
public struct KafkaMessageView {
    let _topic: OpaquePointer?
    public let partition: Int32
    public let offset: Int64
    public let key: UnsafeRawBufferPointer?
    public let value: UnsafeRawBufferPointer

    /// The message itself, for its timestamp and headers; nil in a view made without one.
    let _message: UnsafeMutablePointer<rd_kafka_message_t>?

    init(topic: OpaquePointer?, partition: Int32, offset: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
         message: UnsafeMutablePointer<rd_kafka_message_t>? = nil) {
        self._topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self._message = message
    }

    /// The record's timestamp in ms since the epoch (`rd_kafka_message_timestamp`), -1 when
    /// unknown.
    public var timestamp: Int64 { _message.map { rd_kafka_message_timestamp($0, nil) } ?? -1 }

    /// The value of the last header named `name` (`rd_kafka_header_get_last`), nil when there is
    /// none or its value is null. Valid only inside the poll's body.
    public func lastHeader(named name: String) -> UnsafeRawBufferPointer? {
        guard let _message else { return nil }
        var hdrs: OpaquePointer?
        guard rd_kafka_message_headers(_message, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs else { return nil }
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(hdrs, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let value else { return nil }
        return UnsafeRawBufferPointer(start: value, count: size)
    }

    /// The record's topic (`rd_kafka_topic_name`; allocates).
    public var topic: String { _topic.map { String(cString: rd_kafka_topic_name($0)) } ?? "" }
}

/// A record copied out of librdkafka.
public struct KafkaConsumerMessage: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
}

/// A point in a rebalance where `_RebalanceState.hook` runs.
enum _RebalancePhase: Sendable {
    /// Before the partitions are unassigned; `lost` when they already belong to another member.
    case willRevoke([KafkaTopicPartition], lost: Bool)
    /// After the partitions were assigned.
    case didAssign([KafkaTopicPartition])
}

/// What the rebalance callback needs; see `_ClientState`.
final class _RebalanceState: Sendable {
    let handler: (@Sendable (KafkaRebalanceEvent) -> Void)?
    /// Where to start a partition that has no committed offset.
    let initialOffsets = Mutex<[KafkaTopicPartition: Int64]>([:])
    let assignment = Mutex<Set<KafkaTopicPartition>>([])
    let commitOnRevoke: Bool
    let rebalances = Atomic<Int>(0)
    /// Called on the polling thread before partitions are given up and after they are taken
    /// (the `MessageRebalanceListener` bridge); it may block the polling thread.
    let hook = Mutex<(@Sendable (_RebalancePhase) -> Void)?>(nil)

    init(handler: (@Sendable (KafkaRebalanceEvent) -> Void)?, commitOnRevoke: Bool) {
        self.handler = handler
        self.commitOnRevoke = commitOnRevoke
    }
}

/// A librdkafka consumer in a group (`rd_kafka_new(RD_KAFKA_CONSUMER)`, `rd_kafka_subscribe`).
///
/// The rebalance callback assigns and revokes partitions itself: `rd_kafka_assign` under the
/// eager protocol, `rd_kafka_incremental_assign`/`_unassign` when
/// `partition.assignment.strategy=cooperative-sticky`; it commits on revoke when asked, and
/// reports every change to `onRebalance`. Callbacks run inside `poll` and `close`, on the
/// calling thread (`rd_kafka_poll_set_consumer`).
///
/// Properties pass to librdkafka unchanged: `group.id` (set from `groupID`),
/// `auto.offset.reset`, `enable.auto.commit`, `auto.commit.interval.ms`,
/// `session.timeout.ms`, `max.poll.interval.ms`, `fetch.min.bytes`, `fetch.wait.max.ms`,
/// `partition.assignment.strategy`, `group.instance.id`, ….
///
/// `@unchecked Sendable`: librdkafka's consumer handle is thread-safe; the Swift-side state is
/// behind Mutex/Atomic. `poll` itself should be called from one thread at a time, as
/// librdkafka's documentation advises.
public final class KafkaConsumer: @unchecked Sendable {
    let client: _Client
    let rebalance: _RebalanceState
    let closed = Atomic<Bool>(false)
    /// Consume errors `poll` skipped (the last one is `lastError`).
    let errorCount = Atomic<Int>(0)
    let lastConsumeError = Mutex<KafkaError?>(nil)
    public let groupID: String

    /// Creates the consumer.
    ///
    /// - Parameters:
    ///   - groupID: `group.id`.
    ///   - commitOnRevoke: commit the consumed offsets synchronously before giving partitions up.
    ///   - onRebalance: called on the polling thread after each assignment change.
    /// - Throws: a configuration error naming the property librdkafka rejected.
    public convenience init(configuration: KafkaConfiguration, groupID: String, commitOnRevoke: Bool = true, onRebalance: (@Sendable (KafkaRebalanceEvent) -> Void)? = nil) throws(KafkaError) {
        try self.init(configuration: configuration, group: groupID, commitOnRevoke: commitOnRevoke, onRebalance: onRebalance)
    }

    /// `group` nil: no `group.id` (unless `configuration` has one); the consumer can only
    /// `assign`.
    init(configuration: KafkaConfiguration, group: String?, commitOnRevoke: Bool, onRebalance: (@Sendable (KafkaRebalanceEvent) -> Void)?) throws(KafkaError) {
        try configuration.checkNoMockName()
        var props = configuration.properties
        if let group { props["group.id"] = group }
        rebalance = _RebalanceState(handler: onRebalance, commitOnRevoke: commitOnRevoke)
        client = try _Client(kind: .consumer, properties: props, state: _ClientState(rebalance: rebalance))
        rd_kafka_poll_set_consumer(client.handle)
        self.groupID = props["group.id"] ?? ""
    }

    deinit {
        // rd_kafka_destroy (when the client goes) closes an unclosed consumer and revokes its
        // partitions on whatever thread drops the last reference: no listener may run there.
        rebalance.hook.withLock { $0 = nil }
    }

    /// Where partitions without a committed offset start (instead of `auto.offset.reset`).
    public func setInitialOffsets(_ offsets: [KafkaTopicPartition: Int64]) {
        rebalance.initialOffsets.withLock { $0.merge(offsets) { _, new in new } }
    }

    /// Joins the group for `topics` (`rd_kafka_subscribe`); partitions arrive through `poll`.
    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for t in topics { rd_kafka_topic_partition_list_add(list, t, -1) }
        let err = rd_kafka_subscribe(client.handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "subscribe to \(topics)") }
    }

    /// The current assignment.
    public var assignment: Set<KafkaTopicPartition> { rebalance.assignment.withLock { $0 } }

    /// Times librdkafka reset a position (`auto.offset.reset`) because its offset was out of
    /// range, skipping records (e.g. retention deleted them while the consumer lagged).
    public var offsetResets: Int { client.state.offsetResets.load(ordering: .relaxed) }

    /// Rebalance callbacks served so far.
    public var rebalanceCount: Int { rebalance.rebalances.load(ordering: .relaxed) }

    /// The last consume error `poll` skipped, and how many there were.
    public var lastError: KafkaError? { lastConsumeError.withLock { $0 } }
    public var skippedErrors: Int { errorCount.load(ordering: .relaxed) }

    /// Serves callbacks and lends up to `maxMessages` records to `body`
    /// (`rd_kafka_consumer_poll`: waits up to `timeout` for the first, then takes what is ready).
    ///
    /// Consume errors (a partition's fetch failing, `_PARTITION_EOF`) are counted and skipped:
    /// librdkafka retries them itself.
    /// - Returns: the number of records passed to `body`.
    /// - Throws: a fatal error (`_FATAL`), after which the consumer is unusable.
    @discardableResult
    public func poll(timeout: Duration, maxMessages: Int = 500, _ body: (KafkaMessageView) -> Void) throws(KafkaError) -> Int {
        try _poll(timeout: timeout, maxMessages: maxMessages) { m in
            let msg = m.pointee
            let value = UnsafeRawBufferPointer(start: msg.payload, count: msg.len)
            let key = msg.key.map { UnsafeRawBufferPointer(start: $0, count: msg.key_len) }
            body(KafkaMessageView(topic: msg.rkt, partition: msg.partition, offset: msg.offset, key: key, value: value, message: m))
        }
    }

    /// Up to `maxMessages` records copied with their headers and timestamps
    /// (`rd_kafka_message_headers`, `rd_kafka_message_timestamp`); empty after `timeout`.
    ///
    /// Consume errors are skipped as in `poll(timeout:maxMessages:_:)`.
    public func pollRecords(timeout: Duration, maxMessages: Int = 500) throws(KafkaError) -> [ConsumerRecord] {
        var out: [ConsumerRecord] = []
        var topicNames: [OpaquePointer: String] = [:]
        try _poll(timeout: timeout, maxMessages: maxMessages) { m in
            let msg = m.pointee
            var topic = ""
            if let rkt = msg.rkt {
                if let name = topicNames[rkt] { topic = name } else {
                    topic = String(cString: rd_kafka_topic_name(rkt))
                    topicNames[rkt] = topic
                }
            }
            var tstype = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            let timestamp = rd_kafka_message_timestamp(m, &tstype)
            out.append(ConsumerRecord(
                topic: topic, partition: msg.partition, offset: msg.offset, timestamp: timestamp,
                timestampType: tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? .logAppendTime : .createTime,
                key: msg.key.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.key_len)) },
                value: msg.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.len)) },
                headers: Self.headers(of: m)))
        }
        return out
    }

    /// The headers of a consumed message, copied.
    static func headers(of m: UnsafeMutablePointer<rd_kafka_message_t>) -> [RecordHeader] {
        var hdrs: OpaquePointer?
        guard rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs else { return [] }
        var out: [RecordHeader] = []
        out.reserveCapacity(rd_kafka_header_cnt(hdrs))
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(hdrs, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            out.append(RecordHeader(key: name.map { String(cString: $0) } ?? "",
                                    value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
            index += 1
        }
        return out
    }

    /// The poll loop: serves callbacks, skips consume errors, passes each record to `body`.
    @discardableResult
    func _poll(timeout: Duration, maxMessages: Int, _ body: (UnsafeMutablePointer<rd_kafka_message_t>) -> Void) throws(KafkaError) -> Int {
        var count = 0
        var wait = timeout.milliseconds
        while count < maxMessages, let m = rd_kafka_consumer_poll(client.handle, wait) {
            wait = 0
            defer { rd_kafka_message_destroy(m) }
            let msg = m.pointee
            if msg.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if msg.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
                let error = KafkaError(msg.err, context: "consume", detail: rd_kafka_message_errstr(m).map { String(cString: $0) })
                if msg.err == RD_KAFKA_RESP_ERR__FATAL { throw error }
                errorCount.add(1, ordering: .relaxed)
                lastConsumeError.withLock { $0 = error }
                continue
            }
            body(m)
            count += 1
        }
        return count
    }

    /// One record, copied, or nil after `timeout`.
    public func poll(timeout: Duration) throws(KafkaError) -> KafkaConsumerMessage? {
        var out: KafkaConsumerMessage?
        let deadline = MonotonicDeadline(after: timeout)
        repeat {
            let remaining = deadline.remaining
            try poll(timeout: remaining, maxMessages: 1) { view in
                out = KafkaConsumerMessage(topic: view.topic, partition: view.partition, offset: view.offset,
                                           key: view.key.map { Array($0) }, value: Array(view.value))
            }
        } while out == nil && !deadline.hasPassed
        return out
    }

    /// Commits the offsets of the records `poll` returned (`rd_kafka_commit(NULL)`);
    /// `async` returns without waiting for the broker.
    ///
    /// Nothing to commit is not an error.
    public func commit(async: Bool = false) throws(KafkaError) {
        let err = rd_kafka_commit(client.handle, nil, async ? 1 : 0)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw KafkaError(err, context: "commit for group '\(groupID)'", detail: client.detail(err))
        }
    }

    /// Commits explicit offsets (the next offset to read) synchronously unless `async`.
    public func commit(_ offsets: [KafkaTopicPartition: Int64], async: Bool = false) throws(KafkaError) {
        let list = Self.makeList(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_commit(client.handle, list, async ? 1 : 0)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, context: "commit for group '\(groupID)'", detail: client.detail(err))
        }
    }

    /// The group's committed offsets for `partitions` (`rd_kafka_committed`); absent when none.
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let list = Self.makeList(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(-1001)) }))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_committed(client.handle, list, timeout.milliseconds)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, context: "committed offsets of group '\(groupID)'", detail: client.detail(err))
        }
        var out: [KafkaTopicPartition: Int64] = [:]
        for e in Self.elements(list) where e.offset >= 0 {
            out[KafkaTopicPartition(topic: String(cString: e.topic), partition: e.partition)] = e.offset
        }
        return out
    }

    /// Reads `partitions` without joining a group (`rd_kafka_assign`), each from its committed
    /// offset when `group.id` has one, else from `auto.offset.reset`; replaces any earlier
    /// assignment.
    public func assign(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        let list = Self.makeList(Dictionary(partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) }) { a, _ in a })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(client.handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "assign \(partitions)", detail: client.detail(err)) }
        rebalance.assignment.withLock { $0 = Set(partitions) }
    }

    /// Moves the fetch position of assigned partitions (`rd_kafka_seek_partitions`); records
    /// already fetched from them are discarded.
    ///
    /// Right after `assign` (or inside a rebalance listener) librdkafka has not started fetching
    /// the partition yet and answers `_STATE`; the seek is retried until it takes, up to `timeout`.
    ///
    /// - Throws: `_STATE` for a partition not assigned to this consumer (or not fetching within
    ///   `timeout`); the first partition's error otherwise.
    public func seek(_ offsets: [KafkaTopicPartition: Int64], timeout: Duration = .seconds(10)) throws(KafkaError) {
        let assigned = assignment
        if let missing = offsets.keys.first(where: { !assigned.contains($0) }) {
            throw KafkaError(RD_KAFKA_RESP_ERR__STATE, context: "seek \(missing)",
                             detail: "the partition is not assigned to this consumer; seek after assign, or after the rebalance listener's partitionsAssigned")
        }
        let deadline = MonotonicDeadline(after: timeout)
        var pending = offsets
        while true {
            let list = Self.makeList(pending)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            var notFetching: [KafkaTopicPartition: Int64] = [:]
            var failure: KafkaError?
            if let error = rd_kafka_seek_partitions(client.handle, list, max(deadline.remaining, .milliseconds(1)).milliseconds) {
                let e = KafkaError(consuming: error, context: "seek")
                if e.code != Int32(RD_KAFKA_RESP_ERR__STATE.rawValue) { throw e }
            }
            for e in Self.elements(list) where e.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let tp = KafkaTopicPartition(topic: String(cString: e.topic), partition: e.partition)
                if e.err == RD_KAFKA_RESP_ERR__STATE {
                    notFetching[tp] = pending[tp]
                } else if failure == nil {
                    failure = KafkaError(e.err, context: "seek \(tp) to \(e.offset)")
                }
            }
            if let failure { throw failure }
            if notFetching.isEmpty { return }
            if deadline.hasPassed {
                throw KafkaError(RD_KAFKA_RESP_ERR__STATE, context: "seek \(notFetching.keys.sorted { $0.description < $1.description })",
                                 detail: "librdkafka did not start fetching the partition within \(timeout)")
            }
            pending = notFetching
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    /// Stops fetching from `partitions` until `resume` (`rd_kafka_pause_partitions`); their
    /// positions are kept.
    public func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try _pauseOrResume(partitions, pause: true)
    }

    /// Fetches again from paused `partitions` (`rd_kafka_resume_partitions`).
    public func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try _pauseOrResume(partitions, pause: false)
    }

    func _pauseOrResume(_ partitions: [KafkaTopicPartition], pause: Bool) throws(KafkaError) {
        let what = pause ? "pause" : "resume"
        let assigned = assignment
        if let missing = partitions.first(where: { !assigned.contains($0) }) {
            throw KafkaError(RD_KAFKA_RESP_ERR__STATE, context: "\(what) \(missing)", detail: "the partition is not assigned to this consumer")
        }
        let list = Self.makeList(Dictionary(partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) }) { a, _ in a })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = pause ? rd_kafka_pause_partitions(client.handle, list) : rd_kafka_resume_partitions(client.handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: what) }
        for e in Self.elements(list) where e.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(e.err, context: "\(what) \(String(cString: e.topic))-\(e.partition)")
        }
    }

    /// Leaves the group (`rd_kafka_consumer_close`: revokes the assignment through the
    /// rebalance callback, which commits when `commitOnRevoke`), on a thread of its own.
    public func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let client = self.client
        _ = try? await _blocking { () throws(KafkaError) in
            let err = rd_kafka_consumer_close(client.handle)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "close") }
        }
    }

    /// The same as `close()`, blocking the calling thread.
    public func closeBlocking() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        rd_kafka_consumer_close(client.handle)
    }

    static func makeList(_ offsets: [KafkaTopicPartition: Int64]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        for (tp, offset) in offsets {
            rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition).pointee.offset = offset
        }
        return list
    }

    static func elements(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> UnsafeMutableBufferPointer<rd_kafka_topic_partition_t> {
        UnsafeMutableBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt))
    }

    static func partitions(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [KafkaTopicPartition] {
        guard let list else { return [] }
        return elements(list).map { KafkaTopicPartition(topic: String(cString: $0.topic), partition: $0.partition) }
    }

    /// The rebalance_cb body.
    static func _rebalance(_ rk: OpaquePointer, _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, state: _ClientState) {
        guard let rb = state.rebalance else { return }
        rb.rebalances.add(1, ordering: .relaxed)
        let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) } == "COOPERATIVE"
        let partitions = Self.partitions(list)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            let initial = rb.initialOffsets.withLock { $0 }
            if let list, !initial.isEmpty {
                // Partitions the group never committed start where the caller said.
                if rd_kafka_committed(rk, list, 10_000) == RD_KAFKA_RESP_ERR_NO_ERROR {
                    for i in 0..<Int(list.pointee.cnt) where list.pointee.elems[i].offset < 0 {
                        let e = list.pointee.elems[i]
                        if let start = initial[KafkaTopicPartition(topic: String(cString: e.topic), partition: e.partition)] {
                            list.pointee.elems[i].offset = start
                        }
                    }
                }
            }
            if cooperative {
                if let e = rd_kafka_incremental_assign(rk, list) {
                    rb.handler?(.failed(KafkaError(consuming: e, context: "incremental assign")))
                    return
                }
            } else {
                let e = rd_kafka_assign(rk, list)
                if e != RD_KAFKA_RESP_ERR_NO_ERROR {
                    rb.handler?(.failed(KafkaError(e, context: "assign")))
                    return
                }
            }
            rb.assignment.withLock { $0.formUnion(partitions) }
            if !partitions.isEmpty, let hook = rb.hook.withLock({ $0 }) { hook(.didAssign(partitions)) }
            rb.handler?(.assigned(partitions, cooperative: cooperative))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            if !partitions.isEmpty, let hook = rb.hook.withLock({ $0 }) {
                hook(.willRevoke(partitions, lost: rd_kafka_assignment_lost(rk) != 0))
            }
            if rb.commitOnRevoke && rd_kafka_assignment_lost(rk) == 0 {
                _ = rd_kafka_commit(rk, nil, 0)
            }
            if cooperative {
                if let e = rd_kafka_incremental_unassign(rk, list) { rd_kafka_error_destroy(e) }
                rb.assignment.withLock { $0.subtract(partitions) }
            } else {
                rd_kafka_assign(rk, nil)
                rb.assignment.withLock { $0.removeAll() }
            }
            rb.handler?(.revoked(partitions, cooperative: cooperative))
        default:
            let lost = rb.assignment.withLock { $0 }
            if !lost.isEmpty, let hook = rb.hook.withLock({ $0 }) { hook(.willRevoke(Array(lost), lost: true)) }
            rd_kafka_assign(rk, nil)
            rb.assignment.withLock { $0.removeAll() }
            rb.handler?(.failed(KafkaError(err, context: "rebalance")))
        }
    }
}
