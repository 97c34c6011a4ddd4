import CRdKafka
import Foundation
import Synchronization

/// What librdkafka's callbacks reach through `rd_kafka_conf_set_opaque`.
///
/// The callbacks are `@convention(c)` functions that capture nothing; they find this object
/// through the opaque pointer (unretained: the owning `_Client` keeps it alive until after
/// `rd_kafka_destroy`). Every mutable field is behind a `Mutex` or an `Atomic`, because
/// librdkafka calls `error_cb`, `log_cb` and `stats_cb` from its own threads.
final class _ClientState: Sendable {
    /// Delivery reports (producer): called on the poll thread, one at a time.
    let onDelivery: (@Sendable (KafkaDelivery) -> Void)?
    /// Async sends waiting for their delivery report, by token.
    let waiting = Mutex<[UInt64: CheckedContinuation<Result<KafkaDeliveryReport, KafkaError>, Never>]>([:])
    let waitingCount = Atomic<Int>(0)
    /// The last error `error_cb` reported, and the last warning-or-worse log lines.
    let lastError = Mutex<String?>(nil)
    let logLines = Mutex<[String]>([])
    /// Print librdkafka's log lines to stderr (`WEIR_LIBRDKAFKA_LOG=1`).
    let echoLog: Bool
    /// Statistics (`stats_cb`): batches and bytes summed over the windows, retries.
    let stats = Mutex<_Statistics>(_Statistics())
    let statsEmissions = Atomic<Int>(0)
    /// Failed deliveries.
    let failedDeliveries = Atomic<Int>(0)
    /// Consumer positions librdkafka reset (`auto.offset.reset`) because the offset was out of
    /// range: records were skipped.
    let offsetResets = Atomic<Int>(0)
    /// Consumer: rebalance handling.
    let rebalance: _RebalanceState?

    init(onDelivery: (@Sendable (KafkaDelivery) -> Void)? = nil, rebalance: _RebalanceState? = nil) {
        self.onDelivery = onDelivery
        self.rebalance = rebalance
        self.echoLog = ProcessInfo.processInfo.environment["WEIR_LIBRDKAFKA_LOG"] == "1"
    }

    func recordLog(level: Int32, facility: String, text: String) {
        if echoLog { FileHandle.standardError.write(Data("librdkafka \(level) \(facility): \(text)\n".utf8)) }
        guard level <= 4 else { return }
        if facility == "OFFSET" && text.contains("offset reset") { offsetResets.add(1, ordering: .relaxed) }
        logLines.withLock { lines in
            lines.append(text)
            if lines.count > 8 { lines.removeFirst(lines.count - 8) }
        }
    }

    /// The last error or warning librdkafka reported, for error messages.
    var lastProblem: String? {
        if let e = lastError.withLock({ $0 }) { return e }
        return logLines.withLock { $0.last }
    }
}

/// Statistics accumulated from librdkafka's `stats_cb` JSON (`statistics.interval.ms`).
struct _Statistics: Sendable {
    /// `topics.*.batchsize` windows: batch bytes and batch count.
    var batchBytes: Int64 = 0
    var batches: Int64 = 0
    /// `brokers.*.txretries` (cumulative, last emission).
    var retries: Int64 = 0
    /// `brokers.*.txbytes` (cumulative, last emission).
    var txBytes: Int64 = 0

    mutating func absorb(_ json: UnsafeRawBufferPointer) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else { return }
        if let topics = object["topics"] as? [String: Any] {
            for case let topic as [String: Any] in topics.values {
                if let b = topic["batchsize"] as? [String: Any] {
                    batchBytes += (b["sum"] as? NSNumber)?.int64Value ?? 0
                    batches += (b["cnt"] as? NSNumber)?.int64Value ?? 0
                }
            }
        }
        if let brokers = object["brokers"] as? [String: Any] {
            var r: Int64 = 0, tx: Int64 = 0
            for case let broker as [String: Any] in brokers.values {
                r += (broker["txretries"] as? NSNumber)?.int64Value ?? 0
                tx += (broker["txbytes"] as? NSNumber)?.int64Value ?? 0
            }
            retries = r
            txBytes = tx
        }
    }
}

/// One `rd_kafka_t` and its callback state; `rd_kafka_destroy` at deinit.
///
/// `@unchecked Sendable`: the handle is a C pointer, and librdkafka's handle is thread-safe for
/// the calls made through it (produce, poll, flush, metadata, commit); the Swift-side mutable
/// state lives in `_ClientState` behind Mutex/Atomic.
final class _Client: @unchecked Sendable {
    enum Kind { case producer, consumer }

    let handle: OpaquePointer
    let state: _ClientState
    let kind: Kind

    /// Creates the handle. `properties` go to `rd_kafka_conf_set` unchanged.
    init(kind: Kind, properties: [String: String], state: _ClientState, statistics: Bool = false) throws(KafkaError) {
        var props = properties
        if statistics && props["statistics.interval.ms"] == nil { props["statistics.interval.ms"] = "500" }
        let conf = try KafkaConfiguration.makeConf(props)
        let opaque = Unmanaged.passUnretained(state).toOpaque()
        rd_kafka_conf_set_opaque(conf, opaque)
        rd_kafka_conf_set_log_cb(conf) { rk, level, fac, buf in
            guard let rk, let raw = rd_kafka_opaque(rk) else { return }
            let state = Unmanaged<_ClientState>.fromOpaque(raw).takeUnretainedValue()
            state.recordLog(level: level, facility: fac.map { String(cString: $0) } ?? "", text: buf.map { String(cString: $0) } ?? "")
        }
        rd_kafka_conf_set_error_cb(conf) { _, err, reason, opaque in
            guard let opaque else { return }
            let state = Unmanaged<_ClientState>.fromOpaque(opaque).takeUnretainedValue()
            let name = String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: err)))
            let text = reason.map { String(cString: $0) } ?? ""
            state.lastError.withLock { $0 = "\(name): \(text)" }
        }
        if props["statistics.interval.ms"].flatMap(Int.init) ?? 0 > 0 {
            rd_kafka_conf_set_stats_cb(conf) { _, json, length, opaque in
                guard let opaque, let json else { return 0 }
                let state = Unmanaged<_ClientState>.fromOpaque(opaque).takeUnretainedValue()
                state.stats.withLock { $0.absorb(UnsafeRawBufferPointer(start: json, count: length)) }
                state.statsEmissions.add(1, ordering: .releasing)
                return 0
            }
        }
        if kind == .producer {
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let opaque, let message else { return }
                let state = Unmanaged<_ClientState>.fromOpaque(opaque).takeUnretainedValue()
                KafkaProducer._delivered(message, state: state)
            }
        }
        if kind == .consumer, state.rebalance != nil {
            rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, opaque in
                guard let rk, let opaque else { return }
                let state = Unmanaged<_ClientState>.fromOpaque(opaque).takeUnretainedValue()
                KafkaConsumer._rebalance(rk, err, partitions, state: state)
            }
        }
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, &errstr, errstr.count) else {
            // rd_kafka_new leaves the conf to us on failure.
            rd_kafka_conf_destroy(conf)
            let detail = _string(errstr)
            let property = Self.propertyMentioned(in: detail, among: Array(props.keys))
            throw .configuration(property: property, "librdkafka rejected the configuration: \(detail)")
        }
        self.handle = rk
        self.state = state
        self.kind = kind
    }

    deinit {
        rd_kafka_destroy(handle)
    }

    /// The first property name that occurs in librdkafka's error text (for errors such as
    /// "Unsupported value \"FOO\" for sasl.mechanism").
    static func propertyMentioned(in text: String, among keys: [String]) -> String? {
        let sorted = keys.sorted { $0.count > $1.count }
        if let exact = sorted.first(where: { text.contains($0) }) { return exact }
        // librdkafka also spells a property as words ("Unsupported SASL mechanism: NOPE").
        let lower = text.lowercased()
        return sorted.first { lower.contains($0.replacingOccurrences(of: ".", with: " ")) }
    }

    /// `rd_kafka_metadata` for all topics or one, converted.
    func metadata(topic: String?, timeout: Duration) throws(KafkaError) -> KafkaClusterMetadata {
        var meta: UnsafePointer<rd_kafka_metadata>?
        var rkt: OpaquePointer?
        if let topic { rkt = rd_kafka_topic_new(handle, topic, nil) }
        defer { if let rkt { rd_kafka_topic_destroy(rkt) } }
        let err = rd_kafka_metadata(handle, topic == nil ? 1 : 0, rkt, &meta, timeout.milliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let meta else {
            throw KafkaError(err, context: "metadata request to \(bootstrapDescription) failed", detail: detail(err))
        }
        defer { rd_kafka_metadata_destroy(meta) }
        var out = KafkaClusterMetadata()
        let m = meta.pointee
        out.originatingBroker = m.orig_broker_id
        for i in 0..<Int(m.broker_cnt) {
            let b = m.brokers[i]
            out.brokers.append(.init(id: b.id, host: String(cString: b.host), port: b.port))
        }
        for i in 0..<Int(m.topic_cnt) {
            let t = m.topics[i]
            var topicMeta = KafkaClusterMetadata.Topic(name: String(cString: t.topic), error: nil, partitions: [])
            if t.err != RD_KAFKA_RESP_ERR_NO_ERROR { topicMeta.error = KafkaError(t.err, context: "topic '\(topicMeta.name)'") }
            for j in 0..<Int(t.partition_cnt) {
                let p = t.partitions[j]
                topicMeta.partitions.append(.init(id: p.id, leader: p.leader, replicas: Int(p.replica_cnt), inSyncReplicas: Int(p.isr_cnt)))
            }
            out.topics.append(topicMeta)
        }
        if let id = rd_kafka_clusterid(handle, 0) {
            out.clusterID = String(cString: id)
            free(id)
        }
        let controller = rd_kafka_controllerid(handle, 0)
        out.controllerID = controller >= 0 ? controller : nil
        return out
    }

    /// A description of the error for `err` with the last problem librdkafka logged (the
    /// connection refused, the SASL failure, …), which is usually what the user needs.
    func detail(_ err: rd_kafka_resp_err_t) -> String {
        var text = String(cString: rd_kafka_err2str(err))
        if let problem = state.lastProblem, !problem.isEmpty { text += " (last error: \(problem))" }
        return text
    }

    var bootstrapDescription: String { "the cluster" }
}

extension Duration {
    /// Whole milliseconds, clamped to Int32 (librdkafka's timeouts).
    var milliseconds: Int32 {
        let c = components
        let ms = c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}

/// Runs a blocking librdkafka call on its own thread, so that it does not hold a thread of
/// Swift's cooperative pool for up to its timeout.
func _blocking<T: Sendable>(_ body: @escaping @Sendable () throws(KafkaError) -> T) async throws(KafkaError) -> T {
    let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
        let thread = Thread {
            continuation.resume(returning: Result { () throws(KafkaError) -> T in try body() })
        }
        thread.name = "weir-kafka-call"
        thread.start()
    }
    return try result.get()
}

func _librdkafkaVersion() -> String { String(cString: rd_kafka_version_str()) }

/// A NUL-terminated C buffer (librdkafka's `errstr`) as a String.
func _string(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
