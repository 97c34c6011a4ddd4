/// Byte positions of the RecordBatch v2 header (magic 2). Big-endian throughout.
///
/// ```
/// baseOffset: int64            0
/// batchLength: int32           8   (bytes after this field)
/// partitionLeaderEpoch: int32 12
/// magic: int8                 16   (= 2)
/// crc: uint32                 17   (CRC-32C of bytes 21..<end)
/// attributes: int16           21
/// lastOffsetDelta: int32      23
/// baseTimestamp: int64        27
/// maxTimestamp: int64         35
/// producerId: int64           43
/// producerEpoch: int16        51
/// baseSequence: int32         53
/// recordsCount: int32         57
/// records                     61
/// ```
public enum RecordBatchLayout {
    public static let baseOffset = 0
    public static let batchLength = 8
    public static let partitionLeaderEpoch = 12
    public static let magic = 16
    public static let crc = 17
    public static let attributes = 21
    public static let lastOffsetDelta = 23
    public static let baseTimestamp = 27
    public static let maxTimestamp = 35
    public static let producerId = 43
    public static let producerEpoch = 51
    public static let baseSequence = 53
    public static let recordsCount = 57
    /// The size of the fixed header; records start here.
    public static let headerSize = 61
    /// `baseOffset` + `batchLength`: the part of the header that precedes the length-counted bytes.
    public static let logOverhead = 12
    /// The only batch format Weir reads and writes.
    public static let currentMagic: Int8 = 2
    /// The CRC covers from `attributes` to the end of the batch.
    public static let crcCoverageStart = 21
}
