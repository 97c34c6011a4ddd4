public import WeirCompression

/// Whether a batch's timestamps were set by the producer or by the log (Kafka's
/// `message.timestamp.type`, attribute bit 0x08).
public enum TimestampType: Int8, Sendable, Hashable, CaseIterable {
    /// The producer's timestamps (`CreateTime`, the default).
    case createTime = 0
    /// The time the log appended the batch (`LogAppendTime`); every record's timestamp is the
    /// batch's `maxTimestamp`.
    case logAppendTime = 1
}

/// The `attributes` field (int16, byte 21) of a RecordBatch v2.
///
/// Bits 0–2: codec; 0x08: timestamp type; 0x10: transactional; 0x20: control; 0x40: the batch
/// has a delete horizon (then `baseTimestamp` holds it). Other bits are unused and kept as is.
public struct RecordBatchAttributes: RawRepresentable, Sendable, Hashable {
    public var rawValue: Int16

    @inlinable
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// Attributes from their parts.
    @inlinable
    public init(
        codec: CompressionCodec = .none, timestampType: TimestampType = .createTime,
        isTransactional: Bool = false, isControl: Bool = false, hasDeleteHorizon: Bool = false
    ) {
        var raw = Int16(codec.rawValue)
        if timestampType == .logAppendTime { raw |= Self.timestampTypeMask }
        if isTransactional { raw |= Self.transactionalMask }
        if isControl { raw |= Self.controlMask }
        if hasDeleteHorizon { raw |= Self.deleteHorizonMask }
        self.rawValue = raw
    }

    public static let codecMask: Int16 = 0x07
    public static let timestampTypeMask: Int16 = 0x08
    public static let transactionalMask: Int16 = 0x10
    public static let controlMask: Int16 = 0x20
    public static let deleteHorizonMask: Int16 = 0x40

    /// The codec in bits 0–2, or nil for the unassigned values 5–7.
    @inlinable
    public var codec: CompressionCodec? { CompressionCodec(rawValue: UInt8(rawValue & Self.codecMask)) }

    /// `CreateTime` or `LogAppendTime` (bit 0x08).
    @inlinable
    public var timestampType: TimestampType {
        get { rawValue & Self.timestampTypeMask != 0 ? .logAppendTime : .createTime }
        set { _set(Self.timestampTypeMask, newValue == .logAppendTime) }
    }

    /// Part of a transaction (bit 0x10).
    @inlinable
    public var isTransactional: Bool {
        get { rawValue & Self.transactionalMask != 0 }
        set { _set(Self.transactionalMask, newValue) }
    }

    /// A control batch holding a transaction marker (bit 0x20).
    @inlinable
    public var isControl: Bool {
        get { rawValue & Self.controlMask != 0 }
        set { _set(Self.controlMask, newValue) }
    }

    /// `baseTimestamp` holds the delete horizon set by compaction (bit 0x40).
    @inlinable
    public var hasDeleteHorizon: Bool {
        get { rawValue & Self.deleteHorizonMask != 0 }
        set { _set(Self.deleteHorizonMask, newValue) }
    }

    @inlinable
    mutating func _set(_ mask: Int16, _ on: Bool) {
        if on { rawValue |= mask } else { rawValue &= ~mask }
    }
}
