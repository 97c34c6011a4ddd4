public import WeirCompression

/// A typed failure to read or write a RecordBatch v2.
///
/// `code` says what kind of problem it is; `message` names the field and the byte position;
/// `position` is that byte position: for scans, from the start of the scanned buffer; for a
/// single batch, from the start of the batch; for the records of a compressed batch, from the
/// start of the decompressed records section.
public struct RecordBatchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// `magic` (byte 16) is not 2. Weir reads and writes RecordBatch v2 only.
        case badMagic
        /// `batchLength` is too small to hold a header (< 49), or otherwise impossible.
        case badBatchLength
        /// The bytes end before the batch does (a torn tail, or a partial batch at the end of a
        /// fetch).
        case truncatedBatch
        /// The stored CRC-32C differs from the one computed over bytes 21..<end.
        case crcMismatch
        /// A varint runs over 5 bytes or a varlong over 10.
        case varintOverflow
        /// `recordsCount` does not match the records present (too few, or bytes left over).
        case recordCountMismatch
        /// A record's length prefix is negative, runs past the batch, or differs from the bytes
        /// its fields take.
        case recordLengthMismatch
        /// A record's fields are malformed (a negative length other than −1, a key or value
        /// running past the record, a truncated varint, a malformed control record).
        case corruptRecord
        /// The attributes name an unknown codec (5–7).
        case invalidAttributes
        /// The codec failed to compress or decompress; `compressionError` has the details.
        case compression
    }

    /// What is wrong.
    public var code: Code
    /// The byte position the error refers to, when there is one (see the type's description).
    public var position: Int?
    /// What is wrong, naming the field and the position.
    public var message: String
    /// The codec's error when `code == .compression`.
    public var compressionError: CompressionError?

    public init(_ code: Code, at position: Int? = nil, _ message: String, compressionError: CompressionError? = nil) {
        self.code = code
        self.position = position
        self.message = message
        self.compressionError = compressionError
    }

    /// Wraps a codec error.
    public init(_ error: CompressionError, at position: Int? = nil) {
        self.init(.compression, at: position, "record batch codec failed: \(error)", compressionError: error)
    }

    /// The same error with its position (and the message's "byte N") shifted by `delta`; used to
    /// report positions relative to an enclosing buffer.
    public func offsetBy(_ delta: Int) -> RecordBatchError {
        guard delta != 0, let position else { return self }
        var copy = self
        copy.position = position + delta
        copy.message = message + " (batch at byte \(delta) of the buffer)"
        return copy
    }

    public var description: String { "RecordBatchError.\(code.rawValue): \(message)" }
}
