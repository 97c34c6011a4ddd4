/// The type of a transaction marker (the `type` field of a control record key).
public enum ControlRecordType: Sendable, Hashable {
    /// An abort marker (type 0): the transaction's records are discarded by read_committed
    /// consumers.
    case abort
    /// A commit marker (type 1).
    case commit
    /// A type Weir does not know (Kafka reserves others, e.g. 2 for leader change).
    case unknown(Int16)

    /// The wire value.
    public var rawValue: Int16 {
        switch self {
        case .abort: 0
        case .commit: 1
        case .unknown(let value): value
        }
    }

    /// The type for a wire value.
    public init(rawValue: Int16) {
        switch rawValue {
        case 0: self = .abort
        case 1: self = .commit
        default: self = .unknown(rawValue)
        }
    }
}

/// The single record of a control batch: a transaction marker.
///
/// Key: `version` (int16, 0) and `type` (int16). Value (`EndTransactionMarker`): `version`
/// (int16, 0) and `coordinatorEpoch` (int32).
public struct ControlRecord: Sendable, Hashable {
    /// Commit or abort.
    public var type: ControlRecordType
    /// The transaction coordinator's epoch.
    public var coordinatorEpoch: Int32

    /// The encoded key size (4) and value size (6).
    public static let keySize = 4
    public static let valueSize = 6

    public init(type: ControlRecordType, coordinatorEpoch: Int32 = 0) {
        self.type = type
        self.coordinatorEpoch = coordinatorEpoch
    }

    /// Parses a control record from its key and value. Throws `.corruptRecord` when the key or
    /// the value is missing or too short. A later version with extra bytes is accepted.
    public init(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) throws(RecordBatchError) {
        guard let key, key.count >= Self.keySize, let keyBase = key.baseAddress else {
            throw RecordBatchError(.corruptRecord, "control record key must hold int16 version and int16 type (4 bytes), has \(key.map { String($0.count) } ?? "null")")
        }
        let version = keyBase._loadBigEndian(at: 0, as: Int16.self)
        guard version >= 0 else {
            throw RecordBatchError(.corruptRecord, "control record key version \(version) is negative")
        }
        let type = ControlRecordType(rawValue: keyBase._loadBigEndian(at: 2, as: Int16.self))
        var epoch: Int32 = 0
        switch type {
        case .abort, .commit:
            guard let value, value.count >= Self.valueSize, let valueBase = value.baseAddress else {
                throw RecordBatchError(.corruptRecord, "transaction marker value must hold int16 version and int32 coordinatorEpoch (6 bytes), has \(value.map { String($0.count) } ?? "null")")
            }
            epoch = valueBase._loadBigEndian(at: 2, as: Int32.self)
        case .unknown:
            break
        }
        self.init(type: type, coordinatorEpoch: epoch)
    }

    /// Parses the control record of a record view.
    public init(_ record: UnsafeRecordView) throws(RecordBatchError) {
        try self.init(key: record.key, value: record.value)
    }

    /// The 4 key bytes.
    public var keyBytes: [UInt8] {
        let type = UInt16(bitPattern: self.type.rawValue)
        return [0, 0, UInt8(type >> 8), UInt8(type & 0xFF)]
    }

    /// The 6 value bytes.
    public var valueBytes: [UInt8] {
        let epoch = UInt32(bitPattern: coordinatorEpoch)
        return [0, 0, UInt8(epoch >> 24), UInt8((epoch >> 16) & 0xFF), UInt8((epoch >> 8) & 0xFF), UInt8(epoch & 0xFF)]
    }
}

extension RecordBatchBuilder {
    /// Starts a control batch in this builder: resets it, sets the control and transactional
    /// attributes and the producer fields, and appends the marker. `baseSequence` is −1, as
    /// Kafka writes it. Seal it with `seal()`; call `resetToDataBatch()` before reusing the
    /// builder for data. The builder's codec must be `none` (Kafka never compresses markers).
    public func startControlBatch(
        _ marker: ControlRecord, producerId: Int64, producerEpoch: Int16, timestamp: Int64
    ) {
        reset()
        _isControl = true
        isTransactional = true
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        baseSequence = -1
        let key = marker.keyBytes
        let value = marker.valueBytes
        append(timestamp: timestamp, key: key, value: value)
    }

    /// Clears the control flag set by `startControlBatch` and resets the builder.
    public func resetToDataBatch() {
        _isControl = false
        reset()
    }

    /// Whether the builder holds a control batch.
    public var isControlBatch: Bool { _isControl }

    /// Encodes a whole control batch (78 bytes): a transaction marker for `producerId` /
    /// `producerEpoch`, as a transaction coordinator writes into every partition a transaction
    /// touched.
    public static func controlBatch(
        _ marker: ControlRecord, producerId: Int64, producerEpoch: Int16, timestamp: Int64,
        baseOffset: Int64 = 0, partitionLeaderEpoch: Int32 = -1
    ) -> [UInt8] {
        // `.none` cannot fail to initialise or to seal.
        let builder = try! RecordBatchBuilder(codec: .none, batchSizeLimit: 128, initialCapacity: 128)
        builder.baseOffset = baseOffset
        builder.partitionLeaderEpoch = partitionLeaderEpoch
        builder.startControlBatch(marker, producerId: producerId, producerEpoch: producerEpoch, timestamp: timestamp)
        return try! builder.build()
    }
}
