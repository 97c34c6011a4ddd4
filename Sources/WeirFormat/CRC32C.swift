public import CWeirSupport

/// CRC-32C (Castagnoli), the checksum of a RecordBatch v2.
///
/// Runs on the SSE4.2 `crc32` instruction when the CPU has it and on a slice-by-8 table
/// otherwise (`isHardwareAccelerated` tells which).
public enum CRC32C {
    /// The checksum of `bytes`.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, bytes)
    }

    /// Extends `crc` (0 to start) over `bytes`.
    @inlinable
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return weir_crc32c_update(crc, base, bytes.count)
    }

    /// The checksum of a byte sequence that is contiguous or can be made so.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        if let crc = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0)) }) {
            return crc
        }
        return Array(bytes).withUnsafeBytes { checksum($0) }
    }

    /// Whether the hardware (SSE4.2) path is in use on this CPU.
    public static var isHardwareAccelerated: Bool { weir_crc32c_hardware() != 0 }
}
