import Foundation
import Synchronization
public import WeirBench
public import WeirClient

/// The load generator's backend for a Kafka cluster, through librdkafka.
///
/// Properties pass to librdkafka unchanged (`bootstrap.servers`, `security.protocol`, `ssl.*`,
/// `sasl.*`, `acks`, `linger.ms`, `batch.size`, `compression.type`, `enable.idempotence`, …),
/// except Kafka's topic-level properties (`segment.bytes`, `retention.ms`,
/// `min.insync.replicas`, … — `topicProperties`) and `replication.factor`, which go to the
/// topics it creates.
///
/// `bootstrap.servers=mock:N` (or `test.mock.num.brokers=N`) starts librdkafka's in-process mock
/// cluster with N brokers for the step, shared by every producer and consumer of the step.
///
/// Consumer groups get a suffix unique to the backend instance, so that a rerun never resumes
/// an earlier run's offsets; each consumer starts at the end offsets the topic had when the
/// consumer was made (before any producer of the step started).
public final class KafkaBenchBackend: BenchBackend {
    public let name = "kafka"
    /// The properties clients get (with a mock cluster's real address).
    public let configuration: KafkaConfiguration
    /// Topic properties for created topics.
    public let topicConfig: [String: String]
    public let replicationFactor: Int
    let requestedBootstrap: String
    /// Consumer properties the backend adds (for the mock cluster) unless given.
    let consumerDefaults: [String: String]
    let mock: KafkaMockCluster?
    let admin: KafkaAdmin
    /// The same cluster through WeirClient's client protocols, for pattern scenarios.
    public let messaging: KafkaMessaging
    let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    let producers = Mutex<[KafkaProducer]>([])
    let consumers = Mutex<[KafkaConsumer]>([])
    let metadata = Mutex<KafkaClusterMetadata?>(nil)

    /// Kafka topic-level properties: they configure created topics, not librdkafka.
    public static let topicProperties: Set<String> = [
        "cleanup.policy", "delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms",
        "index.interval.bytes", "max.compaction.lag.ms", "max.message.bytes", "message.timestamp.type",
        "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas", "preallocate",
        "retention.bytes", "retention.ms", "segment.bytes", "segment.index.bytes", "segment.jitter.ms",
        "segment.ms", "unclean.leader.election.enable", "message.downconversion.enable",
    ]

    /// Opens the backend: starts the mock cluster when asked for, checks every property with
    /// librdkafka.
    ///
    /// - Throws: `.usage` naming a property librdkafka rejected (unknown property, invalid value,
    ///   unsupported `sasl.mechanism`) or a missing `bootstrap.servers`; `.backend` when the mock
    ///   cluster cannot start.
    public init(properties: [String: String]) throws(BenchError) {
        var clientProps: [String: String] = [:]
        var topicProps: [String: String] = [:]
        var rf = -1
        for (k, v) in properties {
            if Self.topicProperties.contains(k) {
                topicProps[k] = v
            } else if k == "replication.factor" {
                guard let n = Int(v), n == -1 || n >= 1 else { throw .usage("replication.factor: '\(v)' is not valid; allowed: -1 (the broker's default) or ≥ 1.") }
                rf = n
            } else {
                clientProps[k] = v
            }
        }
        var config = KafkaConfiguration(clientProps)
        guard let bootstrap = config.bootstrapServers ?? config.mockBrokerCount.map({ "mock:\($0)" }) else {
            throw .usage("the kafka backend needs bootstrap.servers: --bootstrap-servers HOST:PORT[,HOST:PORT] (or mock:3 for librdkafka's in-process mock cluster).")
        }
        requestedBootstrap = bootstrap
        if let n = config.mockBrokerCount {
            do { mock = try KafkaMockCluster(brokers: n) } catch { throw BenchError(.backend, "mock cluster: \(error.message)") }
            config.properties.removeValue(forKey: "test.mock.num.brokers")
            config.bootstrapServers = mock!.bootstrapServers
            for (key, value) in KafkaMockCluster.clientDefaults where config[key] == nil { config[key] = value }
            let defaults = KafkaMockCluster.consumerDefaults.filter { config[$0.key] == nil }
            consumerDefaults = defaults
        } else {
            mock = nil
            consumerDefaults = [:]
        }
        do {
            messaging = try KafkaMessaging(configuration: config, mock: mock)
        } catch {
            throw error.code == .invalidConfig ? .usage("--config: \(error.message)") : BenchError(.backend, error.message)
        }
        admin = messaging.admin
        configuration = config
        topicConfig = topicProps
        replicationFactor = rf
    }

    public func createTopics(_ names: [String], partitions: Int) async throws(BenchError) {
        do {
            // Reachability first: a clear error within the timeout rather than a stalled run.
            let meta = try await admin.metadata(timeout: .seconds(15))
            metadata.withLock { $0 = meta }
        } catch {
            throw BenchError(.backend, "kafka backend (\(requestedBootstrap)): \(error.message)")
        }
        var configs = topicConfig
        if replicationFactor > 0 { configs["replication.factor"] = String(replicationFactor) }
        for n in names {
            do { try await messaging.ensureTopic(n, partitions: partitions, configs: configs) } catch {
                throw error.code == .invalidConfig ? .usage("--config: \(error.message)") : BenchError(.backend, "kafka backend (\(requestedBootstrap)): \(error.message)")
            }
        }
        do {
            // Topics that existed before: every one needs the workload's partitions.
            try await admin.waitForLeaders(topics: names, partitions: partitions, timeout: .seconds(30))
        } catch {
            throw BenchError(.backend, "kafka backend (\(requestedBootstrap)): \(error.message)")
        }
    }

    public func makeProducer(topic: String, index: Int, sink: DeliverySink) async throws(BenchError) -> any BenchProducer {
        do {
            let p = try KafkaBenchProducer(configuration: configuration, topic: topic, sink: sink)
            producers.withLock { $0.append(p.producer) }
            return p
        } catch {
            throw error.isConfiguration ? .usage("--config: \(error.message)") : BenchError(.backend, error.message)
        }
    }

    public func makeConsumer(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> any BenchConsumer {
        do {
            let start = try await admin.endOffsets(topic: topic)
            let consumer = try KafkaConsumer(configuration: configuration.merging(consumerDefaults).merging(["auto.offset.reset": "latest"]), groupID: "\(group)-\(runID)")
            consumer.setInitialOffsets(start)
            consumers.withLock { $0.append(consumer) }
            try consumer.subscribe([topic])
            if member == 0 {
                // The group's first member is alone: wait for its assignment (bounded) so that it
                // consumes from the step's first record. Later members join while the generator
                // polls the earlier ones; their rebalances commit on revoke, so nothing is lost.
                try await _blocking { () throws(KafkaError) in
                    let clock = ContinuousClock()
                    let deadline = clock.now + .seconds(30)
                    while consumer.assignment.isEmpty && clock.now < deadline {
                        try consumer.poll(timeout: .milliseconds(100)) { _ in }
                    }
                }
            }
            return KafkaBenchConsumer(consumer: consumer)
        } catch {
            throw error.isConfiguration ? .usage("--config: \(error.message)") : BenchError(.backend, "kafka consumer: \(error.message)")
        }
    }

    public func statistics() async -> BackendStatistics {
        var out = BackendStatistics()
        for p in producers.withLock({ $0 }) {
            let s = p.statistics()
            out.producedBatchBytes += s.batchBytes
            out.producedBatches += s.batches
            out.failedRecords += s.failedRecords
            out.retries += s.retries
        }
        return out
    }

    public func shutdown() async {
        producers.withLock { $0.removeAll() }
        consumers.withLock { $0.removeAll() }
    }

    /// Bootstrap servers, brokers, cluster id and controller (`rd_kafka_metadata`,
    /// `rd_kafka_clusterid`) and the librdkafka version. Kafka's protocol reports no broker
    /// software version.
    public func details() async -> [String: String] {
        var out: [String: String] = [
            "bootstrap_servers": requestedBootstrap,
            "librdkafka": KafkaClusterMetadata.librdkafkaVersion,
        ]
        let resets = consumers.withLock { $0.reduce(0) { $0 + $1.offsetResets } }
        if resets > 0 {
            // Records were skipped: say so next to the numbers.
            out["consumer_offset_resets"] = String(resets)
        }
        if mock != nil { out["cluster"] = "librdkafka mock cluster (in-process, \(configuration.bootstrapServers ?? ""))" }
        var meta = metadata.withLock { $0 }
        if meta == nil { meta = try? await admin.metadata(timeout: .seconds(5)) }
        if let meta {
            out["brokers"] = String(meta.brokers.count)
            out["broker_addresses"] = meta.brokers.sorted { $0.id < $1.id }.map { "\($0.id)=\($0.address)" }.joined(separator: ",")
            if let id = meta.clusterID { out["cluster_id"] = id }
            if let c = meta.controllerID { out["controller_id"] = String(c) }
        }
        return out
    }
}

/// One producer of the load generator: stamps each record with its intended send time and hands
/// it to librdkafka (copied); the token is the intended send time, so the delivery report needs
/// no lookup.
///
/// `@unchecked Sendable`: the scratch buffer and the sink calls are behind Mutexes (`send`
/// runs on a generator thread, delivery reports on the producer's poll thread).
final class KafkaBenchProducer: BenchProducer, @unchecked Sendable {
    let producer: KafkaProducer
    let topic: KafkaTopic
    let scratch = Mutex<[UInt8]>([])
    let sink: _LockedSink

    init(configuration: KafkaConfiguration, topic name: String, sink: DeliverySink) throws(KafkaError) {
        let locked = _LockedSink(sink)
        self.sink = locked
        producer = try KafkaProducer(configuration: configuration, statistics: true) { d in
            if d.error == nil { locked.delivered(intendedNanos: d.token, bytes: d.valueCount) } else { locked.failed(1) }
        }
        topic = try producer.topic(name)
    }

    func send(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, intendedNanos: UInt64, sentNanos: UInt64) {
        let ok: Bool = scratch.withLock { buffer in
            let count = max(BenchStamp.size, value.count)
            if buffer.count < count { buffer = [UInt8](repeating: 0, count: count) }
            return buffer.withUnsafeMutableBytes { raw in
                if value.count > 0 { raw.baseAddress!.copyMemory(from: value.baseAddress!, byteCount: value.count) }
                BenchStamp.write(intendedNanos, into: raw.baseAddress!)
                do {
                    try producer.produce(to: topic, key: key, value: UnsafeRawBufferPointer(rebasing: raw[0..<count]), token: intendedNanos)
                    return true
                } catch {
                    return false
                }
            }
        }
        if !ok { sink.failed(1) }
    }

    func flush() async {
        try? await producer.flush(timeout: .seconds(120))
    }

    func close() async {
        try? await producer.flush(timeout: .seconds(120))
        // One more statistics emission so that the batch counters cover the last records.
        await producer.awaitStatistics()
        await producer.close()
    }
}

/// One consumer of the load generator, in its group.
final class KafkaBenchConsumer: BenchConsumer {
    let consumer: KafkaConsumer

    init(consumer: KafkaConsumer) {
        self.consumer = consumer
    }

    func poll(timeoutNanos: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        let timeout = Duration.nanoseconds(Int64(clamping: timeoutNanos))
        return (try? consumer.poll(timeout: timeout, maxMessages: 1000) { body($0.value) }) ?? 0
    }

    func close() async {
        try? consumer.commit()
        await consumer.close()
    }
}

/// Serialises `DeliverySink` calls: the poll thread's delivery reports and the failures `send`
/// sees on a generator thread (the sink takes one thread at a time).
final class _LockedSink: Sendable {
    let sink: DeliverySink
    let lock = Mutex<Void>(())

    init(_ sink: DeliverySink) { self.sink = sink }

    func delivered(intendedNanos: UInt64, bytes: Int) {
        lock.withLock { _ in sink.delivered(intendedNanos: intendedNanos, bytes: bytes) }
    }

    func failed(_ count: Int) {
        lock.withLock { _ in sink.failed(count) }
    }
}

extension KafkaBenchBackend: _HasMessagingClient {
    /// The backend's cluster (and mock cluster) as a `KafkaMessaging`, for pattern scenarios.
    public var _messagingClient: any MessagingClient { messaging }
}
