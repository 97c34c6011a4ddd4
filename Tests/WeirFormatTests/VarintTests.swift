import Testing
@testable import WeirFormat

@Suite struct VarintTests {
    func roundTrip32(_ value: Int32) throws -> (Int32, Int) {
        var buffer = [UInt8](repeating: 0, count: 16)
        let written = buffer.withUnsafeMutableBytes { _Varint.write(value, to: $0.baseAddress!) }
        #expect(written == _Varint.size(value))
        return try buffer.withUnsafeBytes { raw in
            var position = 0
            let decoded = try _Varint.readVarint(raw.baseAddress!, &position, end: written, field: "test")
            return (decoded, position)
        }
    }

    func roundTrip64(_ value: Int64) throws -> (Int64, Int) {
        var buffer = [UInt8](repeating: 0, count: 16)
        let written = buffer.withUnsafeMutableBytes { _Varint.write(value, to: $0.baseAddress!) }
        #expect(written == _Varint.size(value))
        return try buffer.withUnsafeBytes { raw in
            var position = 0
            let decoded = try _Varint.readVarlong(raw.baseAddress!, &position, end: written, field: "test")
            return (decoded, position)
        }
    }

    @Test(arguments: [Int32(0), -1, 1, 63, -64, 64, -65, 8191, -8192, 8192, Int32.max, Int32.min])
    func varintRoundTrip(_ value: Int32) throws {
        let (decoded, consumed) = try roundTrip32(value)
        #expect(decoded == value)
        #expect(consumed == _Varint.size(value))
    }

    @Test(arguments: [Int64(0), -1, 1, 63, -64, Int64(Int32.max), Int64(Int32.min), Int64.max, Int64.min, 1_700_000_000_000])
    func varlongRoundTrip(_ value: Int64) throws {
        let (decoded, consumed) = try roundTrip64(value)
        #expect(decoded == value)
        #expect(consumed == _Varint.size(value))
    }

    @Test func knownEncodings() {
        func encode(_ value: Int64) -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: 16)
            let n = buffer.withUnsafeMutableBytes { _Varint.write(value, to: $0.baseAddress!) }
            return Array(buffer[..<n])
        }
        #expect(encode(0) == [0x00])
        #expect(encode(-1) == [0x01])
        #expect(encode(1) == [0x02])
        #expect(encode(-64) == [0x7F])
        #expect(encode(64) == [0x80, 0x01])
        #expect(encode(Int64(Int32.max)) == [0xFE, 0xFF, 0xFF, 0xFF, 0x0F])
        #expect(encode(Int64(Int32.min)) == [0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        #expect(encode(Int64.min) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        #expect(_Varint.size(Int32.min) == 5)
        #expect(_Varint.size(Int64.min) == 10)
    }

    @Test func varintOverflowIsAnError() {
        let six: [UInt8] = [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]
        six.withUnsafeBytes { raw in
            var position = 0
            #expect { try _Varint.readVarint(raw.baseAddress!, &position, end: raw.count, field: "x") } throws: {
                ($0 as? RecordBatchError)?.code == .varintOverflow
            }
        }
        let eleven: [UInt8] = Array(repeating: 0xFF, count: 10) + [0x01]
        eleven.withUnsafeBytes { raw in
            var position = 0
            #expect { try _Varint.readVarlong(raw.baseAddress!, &position, end: raw.count, field: "x") } throws: {
                ($0 as? RecordBatchError)?.code == .varintOverflow
            }
        }
    }

    @Test func truncatedVarintIsAnError() {
        let bytes: [UInt8] = [0x80, 0x80]
        bytes.withUnsafeBytes { raw in
            var position = 0
            #expect { try _Varint.readVarint(raw.baseAddress!, &position, end: raw.count, field: "x") } throws: {
                ($0 as? RecordBatchError)?.code == .corruptRecord
            }
            position = 0
            #expect { try _Varint.readVarlong(raw.baseAddress!, &position, end: 0, field: "x") } throws: {
                ($0 as? RecordBatchError)?.code == .corruptRecord
            }
        }
    }
}
