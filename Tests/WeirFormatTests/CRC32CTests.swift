import CWeirSupport
import Testing
@testable import WeirFormat
import WeirTestSupport

@Suite struct CRC32CTests {
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0 ..< 32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0 ..< 32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test func softwarePathMatchesKnownVectors() {
        func sw(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { weir_crc32c_update_sw(0, $0.baseAddress, $0.count) } }
        #expect(sw(Array("123456789".utf8)) == 0xE306_9283)
        #expect(sw([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(sw([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(sw((0 ..< 32).map { UInt8($0) }) == 0x46DD_794E)
    }

    @Test func hardwareMatchesSoftwareOnRandomLengthsAndAlignments() {
        var rng = SplitMix64(seed: 42)
        let buffer = (0 ..< 4096 + 64).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
        buffer.withUnsafeBytes { raw in
            for _ in 0 ..< 2000 {
                let start = Int.random(in: 0 ..< 64, using: &rng)
                let length = Int.random(in: 0 ... 4096, using: &rng)
                let slice = UnsafeRawBufferPointer(rebasing: raw[start ..< start + length])
                let seed = UInt32.random(in: 0 ... .max, using: &rng)
                let hw = weir_crc32c_update(seed, slice.baseAddress, slice.count)
                let sw = weir_crc32c_update_sw(seed, slice.baseAddress, slice.count)
                #expect(hw == sw, "length \(length) at alignment \(start)")
            }
        }
    }

    @Test func incrementalUpdateEqualsOneShot() {
        let bytes = (0 ..< 1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        bytes.withUnsafeBytes { raw in
            let whole = CRC32C.checksum(raw)
            for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
                let a = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: raw[..<split]))
                let b = CRC32C.update(a, UnsafeRawBufferPointer(rebasing: raw[split...]))
                #expect(b == whole)
            }
        }
    }
}
