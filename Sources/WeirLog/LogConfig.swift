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

    /// Every property name this struct understands.
    public static let knownKeys: [String] = _specs.map(\.key)

    /// Parses Kafka-style properties on top of the defaults.
    public init(properties: [String: String]) throws(LogError) {
        self.init()
        try apply(properties)
    }

    /// Applies Kafka-style properties on top of this configuration.
    public mutating func apply(_ properties: [String: String]) throws(LogError) {
        for key in properties.keys.sorted() {
            guard let spec = Self._specs.first(where: { $0.key == key }) else {
                throw LogError(.invalidConfig, "unknown topic config '\(key)'. Known keys: \(Self.knownKeys.joined(separator: ", ")).")
            }
            try spec.set(&self, properties[key]!.trimmingWhitespace)
        }
        try validate()
    }

    /// Checks every value against its allowed range.
    public func validate() throws(LogError) {
        for spec in Self._specs { try spec.check(self) }
    }

    /// All properties with their current values, by Kafka name.
    public var properties: [String: String] {
        var out: [String: String] = [:]
        for spec in Self._specs { out[spec.key] = spec.get(self) }
        return out
    }

    /// The properties that differ from the defaults (what a topic persists).
    public var overrides: [String: String] {
        let defaults = LogConfig().properties
        return properties.filter { defaults[$0.key] != $0.value }
    }

    // MARK: - Property table

    struct _Spec: Sendable {
        let key: String
        let get: @Sendable (LogConfig) -> String
        let set: @Sendable (inout LogConfig, String) throws(LogError) -> Void
        let check: @Sendable (LogConfig) throws(LogError) -> Void
    }

    static func _int<T: FixedWidthInteger & Sendable>(_ key: String, _ path: any WritableKeyPath<LogConfig, T> & Sendable, _ range: ClosedRange<T>) -> _Spec {
        let rangeText = "\(range.lowerBound)...\(range.upperBound)"
        return _Spec(
            key: key,
            get: { String($0[keyPath: path]) },
            set: { (c: inout LogConfig, v: String) throws(LogError) in
                guard let n = T(v) else {
                    throw LogError(.invalidConfig, "\(key)=\(v) is not an integer; allowed range \(rangeText).")
                }
                c[keyPath: path] = n
            },
            check: { (c: LogConfig) throws(LogError) in
                let n = c[keyPath: path]
                if !range.contains(n) {
                    throw LogError(.invalidConfig, "\(key)=\(n) is out of range; allowed range \(rangeText).")
                }
            }
        )
    }

    static func _bool(_ key: String, _ path: any WritableKeyPath<LogConfig, Bool> & Sendable) -> _Spec {
        _Spec(
            key: key,
            get: { String($0[keyPath: path]) },
            set: { (c: inout LogConfig, v: String) throws(LogError) in
                switch v.lowercased() {
                case "true": c[keyPath: path] = true
                case "false": c[keyPath: path] = false
                default: throw LogError(.invalidConfig, "\(key)=\(v) is not a boolean; allowed values are true and false.")
                }
            },
            check: { (_: LogConfig) throws(LogError) in }
        )
    }

    static let _specs: [_Spec] = [
        _int("segment.bytes", \.segmentBytes, 14...Int(Int32.max)),
        _int("segment.ms", \.segmentMs, 1...Int64.max),
        _int("segment.index.bytes", \.segmentIndexBytes, 12...Int(Int32.max)),
        _int("index.interval.bytes", \.indexIntervalBytes, 0...Int(Int32.max)),
        _int("retention.ms", \.retentionMs, -1...Int64.max),
        _int("retention.bytes", \.retentionBytes, -1...Int64.max),
        _Spec(
            key: "cleanup.policy",
            get: { $0.cleanupPolicy.description },
            set: { (c: inout LogConfig, v: String) throws(LogError) in
                var p: CleanupPolicy = []
                for part in v.split(separator: ",") {
                    switch part.trimmingWhitespace {
                    case "delete": p.insert(.delete)
                    case "compact": p.insert(.compact)
                    default: throw LogError(.invalidConfig, "cleanup.policy=\(v): allowed values are delete, compact, or compact,delete.")
                    }
                }
                if p.isEmpty { throw LogError(.invalidConfig, "cleanup.policy is empty: allowed values are delete, compact, or compact,delete.") }
                c.cleanupPolicy = p
            },
            check: { (_: LogConfig) throws(LogError) in }
        ),
        _int("delete.retention.ms", \.deleteRetentionMs, 0...Int64.max),
        _int("min.compaction.lag.ms", \.minCompactionLagMs, 0...Int64.max),
        _int("flush.messages", \.flushMessages, 1...Int64.max),
        _int("flush.ms", \.flushMs, 0...Int64.max),
        _int("max.message.bytes", \.maxMessageBytes, 0...Int(Int32.max)),
        _Spec(
            key: "compression.type",
            get: { $0.compressionType.rawValue },
            set: { (c: inout LogConfig, v: String) throws(LogError) in
                guard let t = CompressionType(rawValue: v) else {
                    throw LogError(.invalidConfig, "compression.type=\(v): allowed values are \(CompressionType.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                c.compressionType = t
            },
            check: { (_: LogConfig) throws(LogError) in }
        ),
        _bool("preallocate", \.preallocate),
    ]
}

extension StringProtocol {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
