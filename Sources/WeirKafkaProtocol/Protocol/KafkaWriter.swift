public import NIOCore

/// Writes Kafka's primitive types into a response. Records that live in segment files are not
/// copied: the writer ends its current buffer there and keeps the file slice, so the response
/// goes out as buffers and `FileRegion`s in order (`parts`).
public struct KafkaWriter {
    public enum Part {
        case buffer(ByteBuffer)
        case file(KafkaRecords.FileSlice)
    }

    public var buffer: ByteBuffer
    /// Finished parts before `buffer` (only when a response carries file slices).
    public var parts: [Part] = []

    package static let allocator = ByteBufferAllocator()

    public init(capacity: Int = 256) { buffer = Self.allocator.buffer(capacity: capacity) }

    /// Bytes written so far, file slices included.
    public var count: Int {
        parts.reduce(buffer.readableBytes) { n, p in
            switch p {
            case .buffer(let b): n + b.readableBytes
            case .file(let f): n + f.length
            }
        }
    }

    public mutating func writeInt8(_ v: Int8) { buffer.writeInteger(v, endianness: .big) }
    public mutating func writeInt16(_ v: Int16) { buffer.writeInteger(v, endianness: .big) }
    public mutating func writeUInt16(_ v: UInt16) { buffer.writeInteger(v, endianness: .big) }
    public mutating func writeInt32(_ v: Int32) { buffer.writeInteger(v, endianness: .big) }
    public mutating func writeUInt32(_ v: UInt32) { buffer.writeInteger(v, endianness: .big) }
    public mutating func writeInt64(_ v: Int64) { buffer.writeInteger(v, endianness: .big) }
    public mutating func writeDouble(_ v: Double) { buffer.writeInteger(v.bitPattern, endianness: .big) }
    public mutating func writeBool(_ v: Bool) { writeInt8(v ? 1 : 0) }

    public mutating func writeUUID(_ v: KafkaUUID) {
        buffer.writeInteger(v.high, endianness: .big)
        buffer.writeInteger(v.low, endianness: .big)
    }

    public mutating func writeUnsignedVarint(_ v: UInt32) {
        var v = v
        while v >= 0x80 {
            buffer.writeInteger(UInt8(v & 0x7f | 0x80))
            v >>= 7
        }
        buffer.writeInteger(UInt8(v))
    }

    mutating func _length(_ n: Int?, compact: Bool, wide: Bool) {
        if compact {
            writeUnsignedVarint(UInt32(n.map { $0 + 1 } ?? 0))
        } else if wide {
            writeInt32(Int32(n ?? -1))
        } else {
            writeInt16(Int16(n ?? -1))
        }
    }

    /// A string; a classic (int16-length) string longer than 32,767 UTF-8 bytes is cut at the
    /// last whole character that fits, never trapping (only a server-made message can be that
    /// long: decoded strings are valid UTF-8 that fitted the same length field).
    public mutating func writeString(_ s: String, compact: Bool) {
        var u = Substring(s).utf8
        if !compact, u.count > Int(Int16.max) {
            var end = u.index(u.startIndex, offsetBy: Int(Int16.max))
            while end > u.startIndex, UTF8.isContinuation(u[end]) { end = u.index(before: end) }
            u = u[..<end]
        }
        _length(u.count, compact: compact, wide: false)
        buffer.writeBytes(u)
    }

    public mutating func writeNullableString(_ s: String?, compact: Bool) {
        if let s { writeString(s, compact: compact) } else { _length(nil, compact: compact, wide: false) }
    }

    public mutating func writeBytes(_ b: [UInt8], compact: Bool) {
        _length(b.count, compact: compact, wide: true)
        buffer.writeBytes(b)
    }

    public mutating func writeNullableBytes(_ b: [UInt8]?, compact: Bool) {
        if let b { writeBytes(b, compact: compact) } else { _length(nil, compact: compact, wide: true) }
    }

    public mutating func writeRecords(_ r: KafkaRecords?, compact: Bool) {
        guard let r else { _length(nil, compact: compact, wide: true); return }
        _length(r.count, compact: compact, wide: true)
        switch r.storage {
        case .bytes(var b):
            buffer.writeBuffer(&b)
        case .file(let slices):
            parts.append(.buffer(buffer))
            for s in slices { parts.append(.file(s)) }
            buffer = Self.allocator.buffer(capacity: 256)
        }
    }

    public mutating func writeArrayCount(_ n: Int, compact: Bool) { _length(n, compact: compact, wide: true) }

    public mutating func writeNullArray(compact: Bool) { _length(nil, compact: compact, wide: true) }

    /// An array whose elements `element` writes (the generated codecs' one array loop).
    public mutating func writeArray<T>(_ a: [T], compact: Bool, _ element: (inout KafkaWriter, T) -> Void) {
        writeArrayCount(a.count, compact: compact)
        for e in a { element(&self, e) }
    }

    /// A nullable array: nil is written as the null array.
    public mutating func writeArray<T>(_ a: [T]?, compact: Bool, _ element: (inout KafkaWriter, T) -> Void) {
        guard let a else { return writeNullArray(compact: compact) }
        writeArray(a, compact: compact, element)
    }

    /// The tagged-field section, fields in ascending tag order (each `KafkaWriter` holds bytes only).
    public mutating func writeTaggedFields(_ fields: [(UInt32, KafkaWriter)]) {
        writeUnsignedVarint(UInt32(fields.count))
        for (tag, var w) in fields {
            writeUnsignedVarint(tag)
            writeUnsignedVarint(UInt32(w.buffer.readableBytes))
            buffer.writeBuffer(&w.buffer)
        }
    }
}
