/// A topic's log configuration, with Kafka's property names and defaults.
///
/// Build it in Swift (`LogConfig(segmentBytes: 64 << 20)`) or from Kafka-style properties
/// (`try LogConfig(properties: ["segment.bytes": "67108864"])`). Unknown keys and out-of-range
/// values are `LogError.invalidConfig` errors that name the key and the allowed range.
public struct LogConfig: Sendable, Equatable {
    /// `cleanup.policy`: what happens to old segments.
    public struct CleanupPolicy: OptionSet, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// `delete`: closed segments are deleted by `retention.ms` / `retention.bytes`.
        public static let delete = CleanupPolicy(rawValue: 1)
        /// `compact`: closed segments keep the latest record per key.
        public static let compact = CleanupPolicy(rawValue: 2)
        public var description: String {
            [contains(.compact) ? "compact" : nil, contains(.delete) ? "delete" : nil].compactMap { $0 }.joined(separator: ",")
        }
    }

    /// `compression.type`: the topic's codec. `producer` keeps what the producer sent; the log
    /// itself never recompresses (the producer applies a topic codec).
    public enum CompressionType: String, Sendable, CaseIterable {
        case producer, uncompressed, gzip, snappy, lz4, zstd
    }

    /// `segment.bytes` (default 1073741824 = 1 GiB, at least 14): the size at which the active
    /// segment rolls. Each active segment reserves this much address space for its read-only
    /// mapping; its disk space is preallocated only with `preallocate`.
    public var segmentBytes: Int = 1 << 30
    /// `segment.ms` (default 604800000 = 7 days, at least 1): the age at which the active segment
    /// rolls even when not full, checked at append time.
    public var segmentMs: Int64 = 604_800_000
    /// `segment.index.bytes` (default 10485760 = 10 MiB, at least 12): the preallocated size of
    /// each active segment's `.index` and `.timeindex`. A full index rolls the segment.
    public var segmentIndexBytes: Int = 10 << 20
    /// `index.interval.bytes` (default 4096, at least 0): bytes of log between two sparse index
    /// entries.
    public var indexIntervalBytes: Int = 4096
    /// `retention.ms` (default 604800000 = 7 days; -1 = unlimited): closed segments whose newest
    /// record is older than this are deleted (policy `delete`).
    public var retentionMs: Int64 = 604_800_000
    /// `retention.bytes` (default -1 = unlimited): the oldest closed segments are deleted while
    /// the partition is larger than this (policy `delete`).
    public var retentionBytes: Int64 = -1
    /// `cleanup.policy` (default `delete`; `compact`, or `compact,delete`).
    public var cleanupPolicy: CleanupPolicy = .delete
    /// `delete.retention.ms` (default 86400000 = 1 day, at least 0): how long compaction keeps
    /// tombstones (records with a null value) in compacted segments.
    public var deleteRetentionMs: Int64 = 86_400_000
    /// `min.compaction.lag.ms` (default 0, at least 0): records younger than this are not compacted.
    public var minCompactionLagMs: Int64 = 0
    /// `flush.messages` (default 9223372036854775807 = never, at least 1): fsync after this many
    /// records, independently of `acks`.
    public var flushMessages: Int64 = .max
    /// `flush.ms` (default 9223372036854775807 = never, at least 0): fsync when unflushed data is
    /// older than this (checked by the directory's maintenance tick).
    public var flushMs: Int64 = .max
    /// `max.message.bytes` (default 1048588, at least 0): the largest record batch accepted.
    public var maxMessageBytes: Int = 1_048_588
    /// `compression.type` (default `producer`).
    public var compressionType: CompressionType = .producer
    /// `preallocate` (Kafka's topic `preallocate` / broker `log.preallocate`, default false):
    /// whether a new active segment's `.log` gets `segment.bytes` of disk blocks (`fallocate`)
    /// when it is created. Off, the file grows with each append, so thousands of partitions fit
    /// on one disk; on, a full disk shows up at the roll rather than at an append.
    public var preallocate: Bool = false

    public init(
        segmentBytes: Int = 1 << 30, segmentMs: Int64 = 604_800_000, segmentIndexBytes: Int = 10 << 20,
        indexIntervalBytes: Int = 4096, retentionMs: Int64 = 604_800_000, retentionBytes: Int64 = -1,
        cleanupPolicy: CleanupPolicy = .delete, deleteRetentionMs: Int64 = 86_400_000,
        minCompactionLagMs: Int64 = 0, flushMessages: Int64 = .max, flushMs: Int64 = .max,
        maxMessageBytes: Int = 1_048_588, compressionType: CompressionType = .producer,
        preallocate: Bool = false
    ) {
        self.segmentBytes = segmentBytes
        self.segmentMs = segmentMs
        self.segmentIndexBytes = segmentIndexBytes
        self.indexIntervalBytes = indexIntervalBytes
        self.retentionMs = retentionMs
        self.retentionBytes = retentionBytes
        self.cleanupPolicy = cleanupPolicy
        self.deleteRetentionMs = deleteRetentionMs
        self.minCompactionLagMs = minCompactionLagMs
        self.flushMessages = flushMessages
        self.flushMs = flushMs
        self.maxMessageBytes = maxMessageBytes
        self.compressionType = compressionType
        self.preallocate = preallocate
    }

    /// The topic properties, declared once: name, type, range and doc (the defaults are the
    /// properties' own above). `weir bench list --fields` and `weir topics --help` print it.
    public static let table = PropertyTable<LogConfig>("topic", defaults: LogConfig(), [
        .int("segment.bytes", .topic, \.segmentBytes, 14...Int(Int32.max), "size at which the active segment rolls"),
        .int("segment.ms", .topic, \.segmentMs, 1...Int64.max, "age at which the active segment rolls"),
        .int("segment.index.bytes", .topic, \.segmentIndexBytes, 12...Int(Int32.max), "preallocated size of each index"),
        .int("index.interval.bytes", .topic, \.indexIntervalBytes, 0...Int(Int32.max), "bytes of log between two index entries"),
        .int("retention.ms", .topic, \.retentionMs, -1...Int64.max, "age after which closed segments are deleted (-1 = never)"),
        .int("retention.bytes", .topic, \.retentionBytes, -1...Int64.max, "partition size above which the oldest segments are deleted (-1 = never)"),
        .choice("cleanup.policy", .topic, \.cleanupPolicy, allowed: ["delete", "compact", "compact,delete"],
                "delete old segments, compact them to the latest record per key, or both",
                parse: { v in
                    var p: CleanupPolicy = []
                    for part in v.split(separator: ",") {
                        switch part.trimmingWhitespace {
                        case "delete": p.insert(.delete)
                        case "compact": p.insert(.compact)
                        default: return nil
                        }
                    }
                    return p.isEmpty ? nil : p
                }, write: { $0.description }),
        .int("delete.retention.ms", .topic, \.deleteRetentionMs, 0...Int64.max, "how long compaction keeps tombstones"),
        .int("min.compaction.lag.ms", .topic, \.minCompactionLagMs, 0...Int64.max, "records younger than this are not compacted"),
        .int("flush.messages", .topic, \.flushMessages, 1...Int64.max, "fsync after this many records"),
        .int("flush.ms", .topic, \.flushMs, 0...Int64.max, "fsync when unflushed data is older than this"),
        .int("max.message.bytes", .topic, \.maxMessageBytes, 0...Int(Int32.max), "largest record batch accepted"),
        .choice("compression.type", .topic, \.compressionType, "the topic's codec (producer = keep the producer's)"),
        .bool("preallocate", .topic, \.preallocate, "reserve segment.bytes of disk for each new segment"),
    ])

    /// Every property name this struct understands.
    public static var knownKeys: [String] { table.names }

    /// Parses Kafka-style properties on top of the defaults.
    public init(properties: [String: String]) throws(LogError) {
        self.init()
        try apply(properties)
    }

    /// Applies Kafka-style properties on top of this configuration.
    public mutating func apply(_ properties: [String: String]) throws(LogError) {
        do { try Self.table.apply(properties, to: &self) } catch { throw LogError(.invalidConfig, error.message) }
    }

    /// Checks every value against its allowed range.
    public func validate() throws(LogError) {
        do { try Self.table.check(self) } catch { throw LogError(.invalidConfig, error.message) }
    }

    /// All properties with their current values, by Kafka name.
    public var properties: [String: String] { Self.table.values(of: self) }

    /// The properties that differ from the defaults (what a topic persists).
    public var overrides: [String: String] {
        let defaults = LogConfig().properties
        return properties.filter { defaults[$0.key] != $0.value }
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
