import Foundation

extension Workload {
    /// The most producers, or consumers, one step may run (OMB's 1,000-topic files with four
    /// of each per topic fit).
    public static let maxClientsPerSide = 4_096
    /// The most producer threads, or consumer threads, one step starts: a thread per producer
    /// and per consumer up to this many; beyond, each thread drives several (as OMB's worker
    /// drives many producers from a few threads), every producer on its own schedule.
    public static let maxThreadsPerSide = 256
    /// The most partitions (over all topics) one step may create on the embedded log (each
    /// holds an open file and a mapped active segment; OMB's 10,000-partition files fit).
    public static let maxEmbeddedPartitions = 16_384

    /// Checks what this machine must hold for the step, before anything is started: producers
    /// and consumers, embedded partitions, and the payload pool's memory. A workload
    /// that loads (every OMB file does) may still be too large to run here; this says which
    /// product of fields to lower.
    ///
    /// - Throws: `.usage` naming the fields, the product and the limit.
    public func checkRunnable() throws(BenchError) {
        try validate()
        let producers = topics.multipliedReportingOverflow(by: producersPerTopic)
        if producers.overflow || producers.partialValue > Self.maxClientsPerSide {
            throw .usage("topics × producersPerTopic = \(topics) × \(producersPerTopic) producers; allowed: at most \(Self.maxClientsPerSide) per step. Lower topics or producersPerTopic, or split the workload with --worker I/N over several hosts.")
        }
        let consumers = topics.multipliedReportingOverflow(by: subscriptionsPerTopic * consumerPerSubscription)
        if consumers.overflow || consumers.partialValue > Self.maxClientsPerSide {
            throw .usage("topics × subscriptionsPerTopic × consumerPerSubscription = \(topics) × \(subscriptionsPerTopic) × \(consumerPerSubscription) consumers; allowed: at most \(Self.maxClientsPerSide) per step. Lower one of them, or split the workload with --worker I/N.")
        }
        let partitions = topics.multipliedReportingOverflow(by: partitionsPerTopic)
        if backend == "embedded", partitions.overflow || partitions.partialValue > Self.maxEmbeddedPartitions {
            throw .usage("topics × partitionsPerTopic = \(topics) × \(partitionsPerTopic) partitions; the embedded log allows at most \(Self.maxEmbeddedPartitions) per step (open files and mappings). Lower topics or partitionsPerTopic, or run against a cluster (--bootstrap-servers).")
        }
        let preallocate = (config["preallocate"] ?? config["topic.preallocate"])?.lowercased() == "true"
        if backend == "embedded" && preallocate {
            // With `preallocate=true` each partition's active segment takes its full
            // segment.bytes on disk at once, so the partitions must fit on the log directory's
            // disk. Without it (Kafka's default) a segment grows with its data.
            let segment = Int(config["segment.bytes"] ?? config["topic.segment.bytes"] ?? LoadGenerator.defaultTopicConfig["segment.bytes"]!) ?? 0
            let need = partitions.partialValue.multipliedReportingOverflow(by: segment)
            if let free = Self.freeBytes(near: logDir ?? NSTemporaryDirectory()), need.overflow || need.partialValue > free {
                throw .usage("topics × partitionsPerTopic × segment.bytes = \(topics) × \(partitionsPerTopic) × \(segment) bytes, more than the \(free) bytes free where the log directory goes; lower partitionsPerTopic or --config segment.bytes (e.g. 1048576), drop preallocate=true, or use --log-dir on a larger disk.")
            }
        }
        let sizes = max(messageSize, messageSizeMax)
        let pool = useRandomizedPayloads == true ? (randomizedPayloadPoolSize ?? 1) : (messageSizeMax > messageSize || messageSizeDistribution != nil ? 1024 : 64)
        let poolBytes = pool.multipliedReportingOverflow(by: sizes)
        if poolBytes.overflow || poolBytes.partialValue > PayloadPool.memoryLimit / 3 {
            throw .usage("the payload pool (\(pool) payloads × \(sizes) bytes) needs more than a quarter of this machine's memory; lower messageSize/messageSizeMax or randomizedPayloadPoolSize.")
        }
    }

    /// Records the consumers may leave unread and still count as caught up: OMB's
    /// `backlogDrainRatio`, `(1 − ratio)` of the backlog (`consumerBacklogSizeGB` in records of
    /// `messageSize`) over every subscription; 0 without a backlog or at ratio 1.
    public var backlogAllowance: Int {
        guard scenario == .backlog, let ratio = backlogDrainRatio, ratio < 1 else { return 0 }
        return Int((1 - ratio) * consumerBacklogSizeGB * 1e9 / Double(max(messageSize, 1))) * subscriptionsPerTopic
    }

    /// Free bytes on the file system holding `path` (or its nearest existing parent).
    static func freeBytes(near path: String) -> Int? {
        var url = URL(fileURLWithPath: path)
        for _ in 0..<64 {
            if FileManager.default.fileExists(atPath: url.path) {
                return (try? FileManager.default.attributesOfFileSystem(forPath: url.path))?[.systemFreeSize] as? Int
            }
            url.deleteLastPathComponent()
        }
        return nil
    }
}
