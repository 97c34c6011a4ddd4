// Zig-zag varints and varlongs as Kafka writes them (protobuf's encoding): 7 bits per byte,
// least significant group first, high bit set on every byte but the last.

/// Zig-zag varint/varlong encoding and decoding over raw memory.
@usableFromInline
enum _Varint {
    /// Kafka's longest varint (int32) in bytes.
    @usableFromInline static let maxVarintBytes = 5
    /// Kafka's longest varlong (int64) in bytes.
    @usableFromInline static let maxVarlongBytes = 10

    @inlinable @inline(__always)
    static func zigZag(_ value: Int32) -> UInt32 {
        UInt32(bitPattern: (value &<< 1) ^ (value >> 31))
    }

    @inlinable @inline(__always)
    static func zigZag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value &<< 1) ^ (value >> 63))
    }

    @inlinable @inline(__always)
    static func unZigZag(_ value: UInt32) -> Int32 {
        Int32(bitPattern: value >> 1) ^ (0 &- Int32(bitPattern: value & 1))
    }

    @inlinable @inline(__always)
    static func unZigZag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ (0 &- Int64(bitPattern: value & 1))
    }

    /// Bytes needed for an unsigned varint.
    @inlinable @inline(__always)
    static func size(unsigned value: UInt64) -> Int {
        let bits = 64 &- (value | 1).leadingZeroBitCount
        return (bits &+ 6) / 7
    }

    /// Bytes needed for a zig-zag varint (int32).
    @inlinable @inline(__always)
    static func size(_ value: Int32) -> Int { size(unsigned: UInt64(zigZag(value))) }

    /// Bytes needed for a zig-zag varlong (int64).
    @inlinable @inline(__always)
    static func size(_ value: Int64) -> Int { size(unsigned: zigZag(value)) }

    /// Writes an unsigned varint at `pointer`; returns the bytes written (1...10).
    @inlinable @inline(__always)
    static func write(unsigned value: UInt64, to pointer: UnsafeMutableRawPointer) -> Int {
        var value = value
        var index = 0
        while value >= 0x80 {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: index, as: UInt8.self)
            value &>>= 7
            index &+= 1
        }
        pointer.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: index, as: UInt8.self)
        return index &+ 1
    }

    /// Writes a zig-zag varint; returns the bytes written (1...5).
    @inlinable @inline(__always)
    static func write(_ value: Int32, to pointer: UnsafeMutableRawPointer) -> Int {
        write(unsigned: UInt64(zigZag(value)), to: pointer)
    }

    /// Writes a zig-zag varlong; returns the bytes written (1...10).
    @inlinable @inline(__always)
    static func write(_ value: Int64, to pointer: UnsafeMutableRawPointer) -> Int {
        write(unsigned: zigZag(value), to: pointer)
    }

    /// Reads a zig-zag varint (int32) from `base[position..<end]` and advances `position`.
    ///
    /// Like Kafka, a fifth byte with its continuation bit set is an overflow; bits beyond 32 in
    /// the fifth byte are dropped. Running out of bytes throws `.corruptRecord`.
    @inlinable @inline(__always)
    static func readVarint(
        _ base: UnsafeRawPointer, _ position: inout Int, end: Int, field: StaticString
    ) throws(RecordBatchError) -> Int32 {
        try _read(base, &position, end: end, field: field, as: UInt32.self)
    }

    /// Reads a zig-zag varlong (int64) from `base[position..<end]` and advances `position`.
    @inlinable @inline(__always)
    static func readVarlong(
        _ base: UnsafeRawPointer, _ position: inout Int, end: Int, field: StaticString
    ) throws(RecordBatchError) -> Int64 {
        try _read(base, &position, end: end, field: field, as: UInt64.self)
    }

    /// Reads a zig-zag varint of either width: one- and two-byte encodings inline, longer ones
    /// in `_readSlow` (specialized for each width where it is used, like this function).
    @inlinable @inline(__always)
    static func _read<U: _VarintBits>(
        _ base: UnsafeRawPointer, _ position: inout Int, end: Int, field: StaticString, as: U.Type
    ) throws(RecordBatchError) -> U.Signed {
        guard position < end else { throw _truncated(field: field, at: position) }
        let first = base.load(fromByteOffset: position, as: UInt8.self)
        if first < 0x80 {
            position &+= 1
            return U.unZigZag(U(first))
        }
        if position &+ 1 < end {
            let second = base.load(fromByteOffset: position &+ 1, as: UInt8.self)
            if second < 0x80 {
                position &+= 2
                return U.unZigZag(U(first & 0x7F) | U(second) &<< 7)
            }
        }
        return try _readSlow(base, &position, end: end, field: field, as: U.self)
    }

    @inlinable @inline(never)
    static func _readSlow<U: _VarintBits>(
        _ base: UnsafeRawPointer, _ position: inout Int, end: Int, field: StaticString, as: U.Type
    ) throws(RecordBatchError) -> U.Signed {
        let start = position
        var result: U = 0
        var shift: U = 0
        while true {
            guard position < end else { throw _truncated(field: field, at: start) }
            let byte = base.load(fromByteOffset: position, as: UInt8.self)
            position &+= 1
            result |= U(byte & 0x7F) &<< shift
            if byte < 0x80 { return U.unZigZag(result) }
            shift &+= 7
            if shift >= 7 &* U(U.maxBytes) {
                throw RecordBatchError(
                    .varintOverflow, at: start,
                    "\(field): \(U.kind) at byte \(start) is longer than \(U.maxBytes) bytes")
            }
        }
    }

    /// Reads a varint that an earlier pass has already validated (no bounds checks).
    @inlinable @inline(__always)
    static func readValidatedVarint(_ base: UnsafeRawPointer, _ position: inout Int) -> Int32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            let byte = base.load(fromByteOffset: position, as: UInt8.self)
            position &+= 1
            result |= UInt32(byte & 0x7F) &<< (shift & 31)
            if byte < 0x80 { return unZigZag(result) }
            shift &+= 7
        }
    }

    @usableFromInline @inline(never)
    static func _truncated(field: StaticString, at position: Int) -> RecordBatchError {
        RecordBatchError(.corruptRecord, at: position, "\(field): record ends inside a varint at byte \(position)")
    }
}

/// The two widths of a zig-zag varint: `UInt32` for a varint (int32), `UInt64` for a varlong
/// (int64).
@usableFromInline
protocol _VarintBits: FixedWidthInteger, UnsignedInteger {
    associatedtype Signed: FixedWidthInteger & SignedInteger
    /// The longest encoding, in bytes.
    static var maxBytes: Int { get }
    /// What an error calls it: "varint" or "varlong".
    static var kind: StaticString { get }
    static func unZigZag(_ value: Self) -> Signed
}

extension UInt32: _VarintBits {
    @inlinable static var maxBytes: Int { _Varint.maxVarintBytes }
    @inlinable static var kind: StaticString { "varint" }
    @inlinable @inline(__always) static func unZigZag(_ value: UInt32) -> Int32 { _Varint.unZigZag(value) }
}

extension UInt64: _VarintBits {
    @inlinable static var maxBytes: Int { _Varint.maxVarlongBytes }
    @inlinable static var kind: StaticString { "varlong" }
    @inlinable @inline(__always) static func unZigZag(_ value: UInt64) -> Int64 { _Varint.unZigZag(value) }
}
