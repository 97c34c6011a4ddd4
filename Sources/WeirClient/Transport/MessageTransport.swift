import Foundation
public import WeirLog

// MARK: - The embedded log

/// The embedded log as a `MessagingClient`: producers, consumers and topics on one
/// `LogDirectory`, all acting as one principal (`User:<sasl.username>`, checked against the
/// directory's ACLs), as a Kafka client's connections all authenticate as its `sasl.username`.
public struct EmbeddedMessaging: MessagingClient {
    public let logDirectory: LogDirectory
    /// `sasl.username`: the principal of `ensureTopic` and the default of every producer and
    /// consumer made here (their own `sasl.username` property wins); nil is `User:ANONYMOUS`.
    public let saslUsername: String?
    public var backendName: String { "embedded" }
    /// Whether `close()` closes the log directory, and the temporary directory it then removes.
    let _ownsDirectory: Bool
    let _temporaryPath: String?

    /// A client on a log directory the caller opened and closes.
    public init(logDirectory: LogDirectory, saslUsername: String? = nil) {
        self.logDirectory = logDirectory
        self.saslUsername = saslUsername
        _ownsDirectory = false
        _temporaryPath = nil
    }

    /// A client on a log directory of its own, which `close()` closes: the directory at `path`
    /// (kept), or with nil a fresh temporary directory (removed by `close()`).
    ///
    /// - Throws: `.log` when the directory cannot be opened (another process owns it, no space).
    public static func open(path: String?, options: LogDirectory.Options = LogDirectory.Options()) throws(ClientError) -> EmbeddedMessaging {
        let temporary = path == nil ? NSTemporaryDirectory() + "weir-\(getpid())-\(UInt32.random(in: 0...UInt32.max))" : nil
        let directory: LogDirectory
        do { directory = try LogDirectory.open(path: path ?? temporary!, options: options) } catch {
            var e = ClientError(error)
            e.message = "cannot open the log directory '\(path ?? temporary!)': \(error.message)"
            throw e
        }
        return EmbeddedMessaging(directory, temporaryPath: temporary)
    }

    init(_ directory: LogDirectory, temporaryPath: String?) {
        logDirectory = directory
        saslUsername = nil
        _ownsDirectory = true
        _temporaryPath = temporaryPath
    }

    /// Closes the log directory when `open(path:)` opened it, and removes it when it was
    /// temporary; a client on the caller's directory leaves it open.
    public func close() async {
        guard _ownsDirectory else { return }
        try? logDirectory.close()
        if let _temporaryPath { try? FileManager.default.removeItem(atPath: _temporaryPath) }
    }

    /// Who this client acts as.
    public var principal: KafkaPrincipal { KafkaPrincipal(saslUsername: saslUsername) }

    func _withPrincipal(_ properties: [String: String]) -> [String: String] {
        var props = properties
        if let saslUsername, props["sasl.username"] == nil { props["sasl.username"] = saslUsername }
        return props
    }

    public func makeProducer(properties: [String: String], onDelivery: DeliveryHandler?) async throws(ClientError) -> any MessageProducer {
        let config = try ProducerConfiguration(properties: _withPrincipal(properties))
        let producer = try Producer(configuration: config, logDirectory: logDirectory)
        if let onDelivery { producer.onDelivery(onDelivery) }
        return producer
    }

    public func makeConsumer(properties: [String: String]) async throws(ClientError) -> any MessageConsumer {
        var props = _withPrincipal(properties)
        if props["enable.auto.commit"] == nil { props["enable.auto.commit"] = "false" }
        return EmbeddedMessageConsumer(try Consumer(properties: props, logDirectory: logDirectory))
    }

    /// `segment.bytes` of the topics `ensureTopic` creates when the caller gives none: 64 MiB.
    /// The embedded log preallocates every active segment to `segment.bytes` on disk, so the
    /// topics patterns create for themselves (retry tiers, DLQs, saga events, snapshots) would
    /// otherwise hold 1 GiB (Kafka's default) per partition each.
    public static let patternTopicSegmentBytes = 64 << 20

    public func ensureTopic(_ name: String, partitions: Int, configs: [String: String]) async throws(ClientError) {
        if let have = try? logDirectory.partitionCount(name), have >= partitions { return }
        var configs = configs
        if configs["segment.bytes"] == nil { configs["segment.bytes"] = String(Self.patternTopicSegmentBytes) }
        do {
            try Admin(logDirectory: logDirectory, principal: principal).createTopic(name, partitions: partitions, configs: configs)
        } catch where error.code == .topicAlreadyExists {
            return
        }
    }

    public func endOffsets(_ partitions: [TopicPartition]) async throws(ClientError) -> [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        for tp in partitions {
            do { out[tp] = try logDirectory.partition(tp).highWatermark } catch { throw ClientError(error) }
        }
        return out
    }

    public func partitionCount(_ topic: String) async throws(ClientError) -> Int {
        do { return try logDirectory.partitionCount(topic) } catch { throw ClientError(error) }
    }
}

extension Producer: MessageProducer {
    /// `produceNow(topic:partition:key:value:opaque:)` with the partitioner's choice.
    public func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, opaque: UInt64) throws(ClientError) {
        _ = try produceNow(topic: topic, partition: nil, key: key, value: value, opaque: opaque)
    }

    /// `produceNow(topic:partition:key:value:timestamp:stamp:opaque:)` with the partitioner's choice.
    public func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                           timestamp: Int64?, stamp: UInt64, opaque: UInt64) throws(ClientError) {
        _ = try produceNow(topic: topic, partition: nil, key: key, value: value, timestamp: timestamp, stamp: stamp, opaque: opaque)
    }

    public func producerStatistics() async -> ProducerStatistics? { statistics }
}

/// A `Consumer` behind the `MessageConsumer` protocol.
public struct EmbeddedMessageConsumer: MessageConsumer {
    /// The embedded consumer, for what the protocol does not cover.
    public let consumer: Consumer

    public init(_ consumer: Consumer) { self.consumer = consumer }

    struct _Listener: ConsumerRebalanceListener {
        let base: any MessageRebalanceListener
        func onPartitionsRevoked(_ partitions: [TopicPartition], consumer: Consumer) async { await base.partitionsRevoked(partitions) }
        func onPartitionsAssigned(_ partitions: [TopicPartition], consumer: Consumer) async { await base.partitionsAssigned(partitions) }
        func onPartitionsLost(_ partitions: [TopicPartition], consumer: Consumer) async { await base.partitionsLost(partitions) }
    }

    public func subscribe(topics: [String], listener: (any MessageRebalanceListener)?) async throws(ClientError) {
        try consumer.subscribe(topics: topics, listener: listener.map { _Listener(base: $0) })
    }

    public func assign(_ partitions: [TopicPartition]) async throws(ClientError) {
        try consumer.assign(partitions)
    }

    public func poll(timeout: Duration) async throws(ClientError) -> [ConsumerRecord] {
        try await consumer.poll(timeout: timeout)
    }

    /// `Consumer.pollBlocking`: zero-copy views into the log's mapping; the thread parks until
    /// the log's appender wakes it.
    public func pollBlocking(timeout: Duration, _ body: (ConsumerRecordView) -> Void) throws(ClientError) -> Int {
        try consumer.pollBlocking(timeout: timeout) { batch in
            let partition = batch.partition
            for m in batch {
                let headers = m.headers
                let stamp = headers.isEmpty ? nil : SendStamp.read(headers.first(named: SendStamp.headerKey)?.value)
                body(ConsumerRecordView(partition: partition, offset: m.offset, key: m.key, value: m.value, timestamp: m.timestamp, stamp: stamp))
            }
        }
    }

    public func commit(_ offsets: [TopicPartition: Int64]) async throws(ClientError) {
        try consumer.commit(offsets)
    }

    public func committed(_ partition: TopicPartition) async throws(ClientError) -> Int64? {
        consumer.committed(partition)?.offset
    }

    public func seek(_ partition: TopicPartition, to offset: Int64) async throws(ClientError) {
        try consumer.seek(partition, to: offset)
    }

    public func pause(_ partitions: [TopicPartition]) async throws(ClientError) {
        try consumer.pause(partitions)
    }

    public func resume(_ partitions: [TopicPartition]) async throws(ClientError) {
        try consumer.resume(partitions)
    }

    public func assignment() async -> [TopicPartition] { consumer.assignment() }

    public func groupMembership() async -> GroupMembership? { consumer.configuration.groupId == nil ? nil : consumer.groupMembership() }

    public func close() async { await consumer.close() }
}
