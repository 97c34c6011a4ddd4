public import WeirCompression
public import WeirLog

/// The producer's configuration, with Kafka's property names and defaults (those of the Java
/// client 4.x, where they apply to the embedded log).
///
/// Set the properties in Swift, or parse Kafka-style properties (`--config batch.size=65536`):
///
/// ```swift
/// var config = ProducerConfiguration()
/// config.lingerMs = 5
/// config.compressionType = .lz4
/// let parsed = try ProducerConfiguration(properties: ["batch.size": "65536", "acks": "1"])
/// ```
///
/// Unknown keys and out-of-range values are `ClientError.invalidConfig` errors naming the key and
/// the allowed range. The KafkaJS spellings used by the reference document (`idempotent`,
/// `maxInFlightRequests`, `transactionTimeout`, `allowAutoTopicCreation`, `compression`,
/// `transactionalId`) are accepted as aliases of the Kafka names.
public struct ProducerConfiguration: Sendable, Equatable, _ClientIdentityProperties {
    /// How records without an explicit partition are spread (`partitioner.class`).
    public enum Partitioner: String, Sendable, Hashable, CaseIterable {
        /// Kafka's built-in partitioner: murmur2 of the key (the same partition as a Java or
        /// librdkafka client), sticky partitioning for null keys (KIP-480).
        case `default`
        /// `org.apache.kafka.clients.producer.RoundRobinPartitioner`: each record to the next
        /// partition in turn, keys ignored.
        case roundRobin = "round-robin"
    }

    /// `client.id` (default ""): a name for logs and statistics.
    public var clientId: String = ""
    /// `acks` (default `all`): `0`, `1`, or `all`/`-1`. With the embedded log, `1` acknowledges
    /// once the batch is in the mapping, `all` once it is on disk (group commit).
    public var acks: Acks = .all
    /// `batch.size` (default 16384, 0...2147483647): the size of each partition's batch in
    /// bytes (uncompressed). A record larger than this gets a batch of its own.
    public var batchSize: Int = 16_384
    /// `linger.ms` (default 5, 0...2147483647): how long a batch waits for more records before
    /// it is sent. 0 sends as soon as the sender is free (records still batch under load).
    public var lingerMs: Int64 = 5
    /// `compression.type` (default `none`): `none`, `gzip`, `snappy`, `lz4`, `zstd`. A topic
    /// whose own `compression.type` is a codec gets that codec instead.
    public var compressionType: CompressionCodec = .none
    /// `compression.gzip.level` (default -1 = 6, 1...9 or -1).
    public var compressionGzipLevel: Int = -1
    /// `compression.lz4.level` (default 9, 1...17).
    public var compressionLz4Level: Int = 9
    /// `compression.zstd.level` (default 3, -131072...22).
    public var compressionZstdLevel: Int = 3
    /// `buffer.memory` (default 33554432 = 32 MiB, 0...9223372036854775807): the bytes of
    /// batches the producer may hold before `send` blocks (backpressure).
    public var bufferMemory: Int = 33_554_432
    /// `max.block.ms` (default 60000, 0...2147483647): how long `send` blocks while
    /// `buffer.memory` is full before it fails with `.bufferExhausted`.
    public var maxBlockMs: Int64 = 60_000
    /// `max.request.size` (default 1048576, 1...2147483647): the largest record (and batch) the
    /// producer sends.
    public var maxRequestSize: Int = 1_048_576
    /// `max.in.flight.requests.per.connection` (default 5, 1...2147483647; at most 5 with
    /// idempotence): batches per partition appended but not yet acknowledged (`acks=all`).
    public var maxInFlightRequestsPerConnection: Int = 5
    /// `delivery.timeout.ms` (default 120000, 0...2147483647, at least `linger.ms` +
    /// `request.timeout.ms`): the upper bound on the time from `send` to success or failure,
    /// retries included.
    public var deliveryTimeoutMs: Int64 = 120_000
    /// `request.timeout.ms` (default 30000, 0...2147483647): how long one append may wait for
    /// its acknowledgement.
    public var requestTimeoutMs: Int64 = 30_000
    /// `retries` (default 2147483647, 0...2147483647): retries of a batch after a retriable
    /// failure, within `delivery.timeout.ms`.
    public var retries: Int = Int(Int32.max)
    /// `retry.backoff.ms` (default 100, 0...9223372036854775807): the first wait before a retry.
    public var retryBackoffMs: Int64 = 100
    /// `retry.backoff.max.ms` (default 1000, 0...9223372036854775807): the longest wait between
    /// retries (the backoff doubles up to it).
    public var retryBackoffMaxMs: Int64 = 1000
    /// `enable.idempotence` (default true; KafkaJS `idempotent`): a producer id, epoch and
    /// per-partition sequence numbers, so that the log writes a retried batch once. Needs
    /// `acks=all` and `max.in.flight.requests.per.connection` ≤ 5. When left at its default, it is
    /// turned off if `acks` is not `all`, as the Java client does.
    public var enableIdempotence: Bool = true
    /// Whether `enableIdempotence` was set explicitly (then a conflicting `acks` is an error).
    public var enableIdempotenceIsExplicit: Bool = false
    /// `transactional.id` (default none; KafkaJS `transactionalId`): enables transactions.
    /// Implies idempotence.
    public var transactionalId: String? = nil
    /// `transaction.timeout.ms` (default 60000, 1...900000; KafkaJS `transactionTimeout`): an
    /// open transaction older than this is aborted by the coordinator.
    public var transactionTimeoutMs: Int64 = 60_000
    /// `partitioner.class` (default: the built-in partitioner): `default` or `round-robin`
    /// (the Java class names `...DefaultPartitioner` and `...RoundRobinPartitioner` are accepted).
    public var partitioner: Partitioner = .default
    /// `partitioner.ignore.keys` (default false): when true, keyed records are spread like
    /// null-key records (sticky) instead of by murmur2 of the key.
    public var partitionerIgnoreKeys: Bool = false
    /// `allow.auto.create.topics` (default false for the embedded log; KafkaJS
    /// `allowAutoTopicCreation`): create an unknown topic (one partition, the directory's default
    /// config) on the first send instead of failing with `.unknownTopicOrPartition`.
    public var allowAutoCreateTopics: Bool = false
    /// `sasl.username` (default none): the user; the embedded log's ACLs see the producer as
    /// principal `User:<sasl.username>` (`User:ANONYMOUS` without it).
    public var saslUsername: String? = nil
    /// `sasl.password` (default none). Accepted for compatibility with Kafka clients; the
    /// embedded log does not authenticate (shown as `[hidden]` in `properties`).
    public var saslPassword: String? = nil
    /// `sasl.mechanism` (default `GSSAPI`): `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`, `GSSAPI`,
    /// `OAUTHBEARER`. Accepted for compatibility; the embedded log does not authenticate.
    public var saslMechanism: String = "GSSAPI"

    public init() {}

    /// Parses Kafka-style properties on top of the defaults.
    public init(properties: [String: String]) throws(ClientError) {
        self.init()
        try apply(properties)
    }

    /// The level for `codec` (`compression.<codec>.level`).
    public func compressionLevel(for codec: CompressionCodec) -> Int? {
        switch codec {
        case .gzip: compressionGzipLevel
        case .lz4: compressionLz4Level
        case .zstd: compressionZstdLevel
        case .none, .snappy: nil
        }
    }

    /// Whether the producer will be idempotent after Kafka's defaulting rules.
    public var isIdempotent: Bool {
        if transactionalId != nil { return true }
        if !enableIdempotenceIsExplicit && acks != .all { return false }
        return enableIdempotence
    }

    /// The producer properties, declared once: name, type, range and doc (the defaults are the
    /// properties' own above). Parsing, `properties`, `ClientProperties` and the CLI's listings
    /// read it.
    public static let table = PropertyTable<ProducerConfiguration>("producer", defaults: ProducerConfiguration(), [
        .choice("acks", .producer, \.acks, allowed: ["0", "1", "all", "-1"], "acknowledgement: none, in the log, or on disk",
                parse: { Acks(kafkaValue: $0) }, write: { $0.description }),
        .int("batch.size", .producer, \.batchSize, 0...Int(Int32.max), "bytes of each partition's batch"),
        .int("linger.ms", .producer, \.lingerMs, 0..._int32Max, "how long a batch waits for more records"),
        .choice("compression.type", .producer, \.compressionType, allowed: CompressionCodec.allCases.map(\.name),
                "the batch codec (a topic codec wins)", aliases: ["compression"],
                parse: { try? CompressionCodec(name: $0) }, write: { $0.name }),
        .int("compression.gzip.level", .producer, \.compressionGzipLevel, -1...9, "gzip level (-1 = 6)"),
        .int("compression.lz4.level", .producer, \.compressionLz4Level, 1...17, "lz4 level"),
        .int("compression.zstd.level", .producer, \.compressionZstdLevel, -131_072...22, "zstd level"),
        .int("buffer.memory", .producer, \.bufferMemory, 0...Int.max, "bytes of batches held before send blocks"),
        .int("max.block.ms", .producer, \.maxBlockMs, 0..._int32Max, "how long send blocks on a full buffer"),
        .int("max.request.size", .producer, \.maxRequestSize, 1...Int(Int32.max), "largest record and batch sent"),
        .int("max.in.flight.requests.per.connection", .producer, \.maxInFlightRequestsPerConnection, 1...Int(Int32.max),
             "unacknowledged batches per partition (at most 5 with idempotence)", aliases: ["maxInFlightRequests"]),
        .int("delivery.timeout.ms", .producer, \.deliveryTimeoutMs, 0..._int32Max, "bound on send to success or failure"),
        .int("request.timeout.ms", .producer, \.requestTimeoutMs, 0..._int32Max, "how long one append waits for its ack"),
        .int("retries", .producer, \.retries, 0...Int(Int32.max), "retries of a batch after a retriable failure"),
        .int("retry.backoff.ms", .producer, \.retryBackoffMs, 0...Int64.max, "first wait before a retry"),
        .int("retry.backoff.max.ms", .producer, \.retryBackoffMaxMs, 0...Int64.max, "longest wait between retries"),
        .bool("enable.idempotence", .producer, \.enableIdempotence, "producer id and sequences: a retried batch is written once",
              aliases: ["idempotent"], onSet: \ProducerConfiguration.enableIdempotenceIsExplicit),
        .optionalString("transactional.id", .producer, \.transactionalId, "enables transactions (implies idempotence)",
                        aliases: ["transactionalId"]),
        .int("transaction.timeout.ms", .producer, \.transactionTimeoutMs, 1...900_000, "open transactions older than this are aborted",
             aliases: ["transactionTimeout"]),
        .choice("partitioner.class", .producer, \.partitioner, allowed: Partitioner.allCases.map(\.rawValue),
                "how records without a partition are spread (Java class names accepted)", parse: { Partitioner(kafkaName: $0) }, write: { $0.rawValue }),
        .bool("partitioner.ignore.keys", .producer, \.partitionerIgnoreKeys, "spread keyed records like null-key ones"),
    ] + sharedClientSpecs)

    /// Every property name this struct understands.
    public static var knownKeys: [String] { table.names }

    /// KafkaJS spellings (from the reference document) and their Kafka names.
    public static var aliases: [String: String] { table.aliases }

    /// Applies Kafka-style properties on top of this configuration, then validates.
    public mutating func apply(_ properties: [String: String]) throws(ClientError) {
        do { try Self.table.apply(properties, to: &self) } catch { throw .config(error.key, error.message) }
        try validate()
    }

    /// Checks every value against its allowed range and the combinations Kafka rejects.
    public func validate() throws(ClientError) {
        do { try Self.table.check(self) } catch { throw .config(error.key, error.message) }
        if deliveryTimeoutMs < lingerMs + requestTimeoutMs {
            throw .config("delivery.timeout.ms", "delivery.timeout.ms=\(deliveryTimeoutMs) must be at least linger.ms + request.timeout.ms = \(lingerMs + requestTimeoutMs); raise delivery.timeout.ms or lower linger.ms / request.timeout.ms.")
        }
        if enableIdempotenceIsExplicit && enableIdempotence || transactionalId != nil {
            if acks != .all {
                throw .config("acks", "acks=\(acks) conflicts with enable.idempotence=true\(transactionalId != nil ? " (implied by transactional.id)" : ""); idempotence needs acks=all. Set acks=all or enable.idempotence=false.")
            }
        }
        if isIdempotent && maxInFlightRequestsPerConnection > 5 {
            throw .config("max.in.flight.requests.per.connection", "max.in.flight.requests.per.connection=\(maxInFlightRequestsPerConnection) is out of range with idempotence; allowed range 1...5.")
        }
        if transactionalId != nil && enableIdempotenceIsExplicit && !enableIdempotence {
            throw .config("enable.idempotence", "transactional.id needs enable.idempotence=true.")
        }
        if let id = transactionalId, id.isEmpty {
            throw .config("transactional.id", "transactional.id is empty; give a non-empty id or leave it unset.")
        }
        if let level = compressionLevel(for: compressionType) {
            do { _ = try compressionType.validatedLevel(level) } catch {
                throw .config(compressionType.levelPropertyName ?? "compression.type", error.message)
            }
        }
    }

    /// All properties with their current values, by Kafka name.
    public var properties: [String: String] { Self.table.values(of: self) }

    static let _int32Max = Int64(Int32.max)
}

extension ProducerConfiguration.Partitioner {
    /// Parses `partitioner.class`: the short names, librdkafka's and the Java class names.
    init?(kafkaName: String) {
        switch kafkaName {
        case "default", "murmur2", "murmur2_random", "org.apache.kafka.clients.producer.internals.DefaultPartitioner":
            self = .default
        case "round-robin", "roundrobin", "round_robin", "org.apache.kafka.clients.producer.RoundRobinPartitioner":
            self = .roundRobin
        default:
            return nil
        }
    }
}
