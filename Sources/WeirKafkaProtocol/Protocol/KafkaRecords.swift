public import NIOCore

/// A `records` field: RecordBatch v2 bytes, either in memory (a produce request, a copied
/// fetch) or as slices of segment files sent with `sendfile` (a zero-copy fetch).
public struct KafkaRecords: Sendable {
    /// A byte range of an open file.
    public struct FileSlice: Sendable {
        /// The file, opened for this response; the channel closes it after sending.
        public var handle: NIOFileHandle
        public var offset: Int
        public var length: Int

        public init(handle: NIOFileHandle, offset: Int, length: Int) {
            self.handle = handle
            self.offset = offset
            self.length = length
        }
    }

    public enum Storage: Sendable {
        case bytes(ByteBuffer)
        case file([FileSlice])
    }

    public var storage: Storage

    /// Empty records.
    public init() { storage = .bytes(ByteBuffer()) }

    public init(bytes: ByteBuffer) { storage = .bytes(bytes) }

    public init(slices: [FileSlice]) { storage = .file(slices) }

    /// The size in bytes.
    public var count: Int {
        switch storage {
        case .bytes(let b): b.readableBytes
        case .file(let s): s.reduce(0) { $0 + $1.length }
        }
    }
}
