/// A record batch compression codec, as stored in bits 0–2 of a RecordBatch's attributes.
///
/// Mirrors Kafka's `compression.type` (`none`, `gzip`, `snappy`, `lz4`, `zstd`; default `none`).
public enum CompressionCodec: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    /// Parses a `compression.type` value (case-insensitive).
    public init(name: String) throws(CompressionError) {
        switch name.lowercased() {
        case "none", "uncompressed": self = .none
        case "gzip": self = .gzip
        case "snappy": self = .snappy
        case "lz4": self = .lz4
        case "zstd": self = .zstd
        default:
            throw CompressionError(
                .unknownCodec, codec: nil,
                "unknown compression.type '\(name)'; use one of none, gzip, snappy, lz4, zstd")
        }
    }

    /// The codec's `compression.type` name.
    public var name: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }

    public var description: String { name }

    /// The valid `compression.level` values (Kafka's `compression.gzip.level`,
    /// `compression.lz4.level`, `compression.zstd.level`), or nil when the codec has no level.
    public var levelRange: ClosedRange<Int>? {
        switch self {
        case .none, .snappy: nil
        case .gzip: 1...9
        case .lz4: 1...17
        case .zstd: -131072...22
        }
    }

    /// Kafka's default level: gzip 6 (zlib's default, which Kafka's -1 selects), lz4 9, zstd 3.
    public var defaultLevel: Int? {
        switch self {
        case .none, .snappy: nil
        case .gzip: 6
        case .lz4: 9
        case .zstd: 3
        }
    }

    /// The name of the Kafka producer property that sets this codec's level
    /// (`compression.gzip.level`, `compression.lz4.level`, `compression.zstd.level`), or nil
    /// when the codec has no level.
    public var levelPropertyName: String? {
        switch self {
        case .none, .snappy: nil
        case .gzip: "compression.gzip.level"
        case .lz4: "compression.lz4.level"
        case .zstd: "compression.zstd.level"
        }
    }

    /// Checks a `compression.<codec>.level` value as Kafka does and returns the level that
    /// will be used.
    ///
    /// - nil selects ``defaultLevel``.
    /// - gzip also accepts Kafka's -1 (`Deflater.DEFAULT_COMPRESSION`), which means 6.
    /// - zstd accepts 0, which zstd treats as its default, 3.
    /// - Any other value outside ``levelRange``, or any level for a codec without levels
    ///   (`none`, `snappy`), throws `.invalidLevel` naming the property, the value and the
    ///   valid range.
    public func validatedLevel(_ level: Int?) throws(CompressionError) -> Int? {
        guard let level else { return defaultLevel }
        guard let range = levelRange, let property = levelPropertyName, let defaultLevel else {
            throw CompressionError(
                .invalidLevel, codec: self,
                "compression.type \(name) has no compression level, but level \(level) was given; pass no level")
        }
        if self == .gzip && level == -1 { return defaultLevel }
        if self == .zstd && level == 0 { return defaultLevel }
        guard range.contains(level) else {
            let extra = self == .gzip ? " or -1" : ""
            throw CompressionError(
                .invalidLevel, codec: self,
                "\(property)=\(level) is out of range; use \(range.lowerBound)...\(range.upperBound)\(extra) (default \(defaultLevel))")
        }
        return level
    }
}
