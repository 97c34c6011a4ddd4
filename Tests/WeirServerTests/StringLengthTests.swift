import NIOCore
import Testing
@testable import WeirServer

/// Strings at the edge of Kafka's int16 length (found by reviewing FuzzKafkaRequest's
/// round trip): one DeleteTopics v1 request with an 11,000-byte invalid-UTF-8 topic name used to
/// kill `weir serve` (the name was repaired to 33,000 bytes of U+FFFD, echoed in the response,
/// and `Int16(33000)` trapped).
@Suite struct StringLengthTests {
    /// A classic (int16-length) string field holding `bytes`.
    func classicString(_ bytes: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(Int16(bytes.count))
        b.writeBytes(bytes)
        return b
    }

    @Test func invalidUTF8IsAMalformedRequest() {
        var r = KafkaReader(classicString([UInt8](repeating: 0xff, count: 11_000)))
        #expect(throws: KafkaProtocolError.self) { try r.readString(compact: false) }
        var compact = ByteBuffer()
        compact.writeBytes([3, 0x61, 0xc3])  // "a" and half of a two-byte character
        var rc = KafkaReader(compact)
        #expect(throws: KafkaProtocolError.self) { try rc.readNullableString(compact: true) }
        var ok = KafkaReader(classicString(Array("trådløs".utf8)))
        #expect((try? ok.readString(compact: false)) == "trådløs")
    }

    @Test func deleteTopicsWithAnInvalidUTF8NameIsRefused() {
        var body = ByteBuffer()
        body.writeInteger(Int32(1))  // one topic name
        var name = classicString([UInt8](repeating: 0xff, count: 11_000))
        body.writeBuffer(&name)
        body.writeInteger(Int32(1000))  // timeout
        var r = KafkaReader(body)
        #expect(throws: KafkaProtocolError.self) { try DeleteTopicsRequest(from: &r, version: 1) }
    }

    @Test func aClassicStringLongerThanInt16IsCutAtACharacterNotTrapped() throws {
        let long = String(repeating: "ø", count: 20_000)  // 40,000 UTF-8 bytes
        var w = KafkaWriter()
        w.writeString(long, compact: false)
        var r = KafkaReader(w.buffer)
        let back = try r.readString(compact: false)
        #expect(back.utf8.count == 32_766)
        #expect(back == String(repeating: "ø", count: 16_383))
        #expect(r.remaining == 0)
        var wc = KafkaWriter()
        wc.writeString(long, compact: true)  // compact lengths are varints: nothing to cut
        var rc = KafkaReader(wc.buffer)
        #expect(try rc.readString(compact: true) == long)
    }
}
