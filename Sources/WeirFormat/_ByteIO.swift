// Big-endian loads and stores at byte offsets, without alignment requirements.

extension UnsafeRawPointer {
    /// Reads a big-endian integer at `offset`. The caller guarantees the bytes are in bounds.
    @inlinable @inline(__always)
    func _loadBigEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawPointer {
    /// Writes `value` big-endian at `offset`. The caller guarantees the bytes are in bounds.
    @inlinable @inline(__always)
    func _storeBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
    }
}
