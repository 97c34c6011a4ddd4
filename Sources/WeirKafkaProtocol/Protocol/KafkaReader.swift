public import NIOCore

/// Reads Kafka's primitive types from a request body (big-endian, with the compact
/// unsigned-varint lengths of flexible versions). Every read checks the remaining length and
/// every count is bounded by the bytes left, so a malformed frame throws instead of trapping or
/// allocating what its lengths claim.
public struct KafkaReader {
    public var buffer: ByteBuffer

    public init(_ buffer: ByteBuffer) { self.buffer = buffer }

    public var remaining: Int { buffer.readableBytes }

    @inline(__always)
    mutating func _int<T: FixedWidthInteger>(_ t: T.Type, _ what: String) throws(KafkaProtocolError) -> T {
        guard let v = buffer.readInteger(endianness: .big, as: T.self) else {
            throw .truncated(what, need: MemoryLayout<T>.size, have: buffer.readableBytes)
        }
        return v
    }

    public mutating func readInt8() throws(KafkaProtocolError) -> Int8 { try _int(Int8.self, "int8") }
    public mutating func readInt16() throws(KafkaProtocolError) -> Int16 { try _int(Int16.self, "int16") }
    public mutating func readUInt16() throws(KafkaProtocolError) -> UInt16 { try _int(UInt16.self, "uint16") }
    public mutating func readInt32() throws(KafkaProtocolError) -> Int32 { try _int(Int32.self, "int32") }
    public mutating func readUInt32() throws(KafkaProtocolError) -> UInt32 { try _int(UInt32.self, "uint32") }
    public mutating func readInt64() throws(KafkaProtocolError) -> Int64 { try _int(Int64.self, "int64") }
    public mutating func readDouble() throws(KafkaProtocolError) -> Double { Double(bitPattern: try _int(UInt64.self, "float64")) }
    public mutating func readBool() throws(KafkaProtocolError) -> Bool { try readInt8() != 0 }

    public mutating func readUUID() throws(KafkaProtocolError) -> KafkaUUID {
        let h = try _int(UInt64.self, "uuid")
        return KafkaUUID(high: h, low: try _int(UInt64.self, "uuid"))
    }

    /// An unsigned varint (at most 5 bytes for 32 bits).
    public mutating func readUnsignedVarint() throws(KafkaProtocolError) -> UInt32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard let b = buffer.readInteger(as: UInt8.self) else { throw .truncated("unsigned varint", need: 1, have: 0) }
            result |= UInt32(b & 0x7f) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 28 { throw KafkaProtocolError("malformed request: an unsigned varint is longer than 5 bytes.") }
        }
    }

    /// A length: int16/int32 in classic versions, unsigned varint N+1 in compact ones; nil for null (-1 / 0).
    mutating func _length(compact: Bool, wide: Bool, _ what: String) throws(KafkaProtocolError) -> Int? {
        let n: Int
        if compact {
            n = Int(try readUnsignedVarint()) - 1
        } else {
            n = wide ? Int(try readInt32()) : Int(try readInt16())
        }
        if n < 0 {
            if n == -1 { return nil }
            throw KafkaProtocolError("malformed request: \(what) has negative length \(n).")
        }
        return n
    }

    mutating func _slice(_ n: Int, _ what: String) throws(KafkaProtocolError) -> ByteBuffer {
        guard let s = buffer.readSlice(length: n) else { throw .truncated(what, need: n, have: buffer.readableBytes) }
        return s
    }

    public mutating func readNullableString(compact: Bool, nullable: Bool = true) throws(KafkaProtocolError) -> String? {
        guard let n = try _length(compact: compact, wide: false, "string") else {
            if nullable { return nil }
            throw KafkaProtocolError("malformed request: a non-nullable string is null.")
        }
        let s = try _slice(n, "string")
        // Invalid UTF-8 is refused, not repaired: each repaired byte would grow to 3 (U+FFFD),
        // and a name echoed in a response could then outgrow its int16 length.
        guard let string = String(validating: s.readableBytesView, as: UTF8.self) else {
            throw KafkaProtocolError("malformed request: a string of \(n) bytes is not valid UTF-8; the client must send UTF-8.")
        }
        return string
    }

    public mutating func readString(compact: Bool) throws(KafkaProtocolError) -> String {
        try readNullableString(compact: compact, nullable: false) ?? ""
    }

    public mutating func readNullableBytes(compact: Bool, nullable: Bool = true) throws(KafkaProtocolError) -> [UInt8]? {
        guard let n = try _length(compact: compact, wide: true, "bytes") else {
            if nullable { return nil }
            throw KafkaProtocolError("malformed request: a non-nullable bytes field is null.")
        }
        return Array(try _slice(n, "bytes").readableBytesView)
    }

    public mutating func readBytes(compact: Bool) throws(KafkaProtocolError) -> [UInt8] {
        try readNullableBytes(compact: compact, nullable: false) ?? []
    }

    /// Records as a slice of the request buffer (no copy).
    public mutating func readRecords(compact: Bool) throws(KafkaProtocolError) -> KafkaRecords? {
        guard let n = try _length(compact: compact, wide: true, "records") else { return nil }
        return KafkaRecords(bytes: try _slice(n, "records"))
    }

    /// An array's element count; nil for a null array. A count larger than the bytes left
    /// (every element takes at least one byte) is rejected before anything is allocated.
    public mutating func readArrayCount(compact: Bool, nullable: Bool) throws(KafkaProtocolError) -> Int? {
        guard let n = try _length(compact: compact, wide: true, "array") else {
            if nullable { return nil }
            return 0
        }
        if n > buffer.readableBytes {
            throw KafkaProtocolError("malformed request: an array claims \(n) elements but only \(buffer.readableBytes) bytes remain.")
        }
        return n
    }

    /// An array whose elements `element` reads (the generated codecs' one array loop); nil for a
    /// null array when `nullable`, else a null array reads as empty.
    public mutating func readArray<T>(compact: Bool, nullable: Bool,
                                      _ element: (inout KafkaReader) throws(KafkaProtocolError) -> T) throws(KafkaProtocolError) -> [T]? {
        guard let n = try readArrayCount(compact: compact, nullable: nullable) else { return nil }
        var a: [T] = []
        a.reserveCapacity(Swift.min(n, 1024))
        for _ in 0..<n { a.append(try element(&self)) }
        return a
    }

    /// The tagged-field section: calls `body` with each field's tag and a reader over its bytes.
    public mutating func readTaggedFields(_ body: (UInt32, inout KafkaReader) throws(KafkaProtocolError) -> Void) throws(KafkaProtocolError) {
        let count = try readUnsignedVarint()
        if Int(count) > buffer.readableBytes {
            throw KafkaProtocolError("malformed request: \(count) tagged fields but only \(buffer.readableBytes) bytes remain.")
        }
        for _ in 0..<count {
            let tag = try readUnsignedVarint()
            let size = Int(try readUnsignedVarint())
            var sub = KafkaReader(try _slice(size, "tagged field \(tag)"))
            try body(tag, &sub)
        }
    }
}
