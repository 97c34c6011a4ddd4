#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import WeirCompression
import WeirFormat
import WeirLog

// Topics: lookup (cached), write authorization, partition choice.
extension Producer {
    /// The state of topic `name`, unretained: a topic's state lives as long as the producer
    /// (`_topics` never drops one), so the per-record path takes no reference count on it.
    @inline(__always)
    func _topicCached(_ name: String) throws(ClientError) -> Unmanaged<_TopicState> {
        let bits = _lastTopic.load(ordering: .acquiring)
        if bits != 0 {
            let hit = Unmanaged<_Topic>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!)._withUnsafeGuaranteedRef { t in
                t.state.name == name && t.acl._generation.load(ordering: .acquiring) == t.aclGeneration
                    ? Unmanaged.passUnretained(t.state) : nil
            }
            if let hit { return hit }
        }
        let t = try _topic(name)
        _lastTopic.store(UInt(bitPattern: Unmanaged.passUnretained(t).toOpaque()), ordering: .releasing)
        return Unmanaged.passUnretained(t.state)
    }

    func _topic(_ name: String) throws(ClientError) -> _Topic {
        if let t = _topics._withLock({ $0[name] }) { return try _writeRechecked(t) }
        let (acl, generation) = try _authorizeWrite(name)
        var count: Int
        do {
            count = try logDirectory.partitionCount(name)
        } catch {
            guard error.code == .unknownTopicOrPartition else { throw ClientError(error) }
            guard configuration.allowAutoCreateTopics else {
                throw ClientError(.unknownTopicOrPartition, "topic '\(name)' does not exist; create it first (weir topics create \(name) --partitions N) or set allow.auto.create.topics=true.", logError: error)
            }
            do {
                try logDirectory.createTopic(name, partitions: 1)
            } catch where error.code == .topicAlreadyExists {
            } catch {
                throw ClientError(error)
            }
            count = 1
        }
        let topicConfig: LogConfig
        do { topicConfig = try logDirectory.topicConfig(name) } catch { throw ClientError(error) }
        var codec = configuration.compressionType
        switch topicConfig.compressionType {
        case .producer: break
        case .uncompressed: codec = .none
        case .gzip: codec = .gzip
        case .snappy: codec = .snappy
        case .lz4: codec = .lz4
        case .zstd: codec = .zstd
        }
        let limit = max(0, min(configuration.batchSize, configuration.maxRequestSize, topicConfig.maxMessageBytes))
        var accs: [_PartitionAccumulator] = []
        for p in 0..<Int32(count) {
            let log: PartitionLog
            do { log = try logDirectory.partition(name, p) } catch { throw ClientError(error) }
            accs.append(_PartitionAccumulator(topicPartition: TopicPartition(name, p), log: log, codec: codec, batchLimit: limit))
        }
        let topic = _Topic(_TopicState(name: name, partitions: accs), acl: acl, aclGeneration: generation)
        return _topics._withLock { t in
            if let existing = t[name] { return existing }
            t[name] = topic
            return topic
        }
    }

    /// The partition count of a topic (Kafka's `partitionsFor(topic).size()`).
    public func partitionCount(_ topic: String) throws(ClientError) -> Int {
        try _topic(topic).state.partitions.count
    }

    @inline(__always)
    func _choosePartition(_ record: ProducerRecord, _ t: Unmanaged<_TopicState>) throws(ClientError) -> (Int32, sticky: Bool) {
        if record.partition == nil, let key = record.key, configuration.partitioner == .default, !configuration.partitionerIgnoreKeys {
            let n = t._withUnsafeGuaranteedRef { $0.partitionCount }
            return (key.withUnsafeBytes { kafkaDefaultPartition(forKey: $0, partitionCount: n) }, false)
        }
        return try _choosePartition(record.partition, nil, t)
    }

    @inline(__always)
    func _choosePartition(_ partition: Int32?, _ key: UnsafeRawBufferPointer?, _ topic: Unmanaged<_TopicState>) throws(ClientError) -> (Int32, sticky: Bool) {
        let n = topic._withUnsafeGuaranteedRef { $0.partitionCount }
        if let p = partition {
            guard p >= 0 && p < n else {
                let name = topic.takeUnretainedValue().name
                throw ClientError(.unknownTopicOrPartition, "partition \(p) of topic '\(name)' does not exist; it has \(n) partitions (0...\(n - 1)).")
            }
            return (p, false)
        }
        switch configuration.partitioner {
        case .roundRobin:
            let i = topic._withUnsafeGuaranteedRef { $0.roundRobin.wrappingAdd(1, ordering: .relaxed).oldValue }
            return (Int32(i % UInt32(n)), false)
        case .default:
            if let key, !configuration.partitionerIgnoreKeys {
                return (kafkaDefaultPartition(forKey: key, partitionCount: n), false)
            }
            return (topic._withUnsafeGuaranteedRef { $0.sticky.load(ordering: .relaxed) }, true)
        }
    }
}
