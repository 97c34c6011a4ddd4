import NIOCore
import Testing
@testable import WeirServer

@Suite struct CodecTests {
    @Test func apiVersionsRoundTripsInEveryVersion() throws {
        for v in ApiVersionsResponse.validVersions {
            var resp = ApiVersionsResponse()
            var a = ApiVersionsResponse.ApiVersion()
            a.apiKey = 3
            a.minVersion = 0
            a.maxVersion = 12
            resp.apiKeys = [a]
            resp.throttleTimeMs = v >= 1 ? 7 : 0
            resp.finalizedFeaturesEpoch = v >= 3 ? 5 : -1
            var w = KafkaWriter()
            resp.write(to: &w, version: v)
            var r = KafkaReader(w.buffer)
            let back = try ApiVersionsResponse(from: &r, version: v)
            #expect(r.remaining == 0)
            #expect(back.apiKeys.map(\.maxVersion) == [12])
            #expect(back.throttleTimeMs == resp.throttleTimeMs)
            #expect(back.finalizedFeaturesEpoch == resp.finalizedFeaturesEpoch, "tagged field in v\(v)")
        }
    }

    @Test func metadataRequestNullTopicsAndCompactStrings() throws {
        for v in MetadataRequest.validVersions {
            var req = MetadataRequest()
            var t = MetadataRequest.MetadataRequestTopic()
            t.name = "orders"
            req.topics = [t]
            var w = KafkaWriter()
            req.write(to: &w, version: v)
            var r = KafkaReader(w.buffer)
            let back = try MetadataRequest(from: &r, version: v)
            #expect(back.topics?.first?.name == "orders")
            #expect(r.remaining == 0)
        }
        var req = MetadataRequest()
        req.topics = nil
        var w = KafkaWriter()
        req.write(to: &w, version: 9)
        #expect(Array(w.buffer.readableBytesView.prefix(1)) == [0], "a null compact array is a zero varint")
    }

    @Test func truncatedAndLyingLengthsThrow() {
        // A string claiming 100 bytes with 2 left.
        var b = ByteBuffer()
        b.writeInteger(Int16(100))
        b.writeBytes([0x61, 0x62])
        var r = KafkaReader(b)
        #expect(throws: KafkaProtocolError.self) { _ = try r.readString(compact: false) }
        // An array claiming a billion elements.
        var b2 = ByteBuffer()
        b2.writeInteger(Int32(1_000_000_000))
        var r2 = KafkaReader(b2)
        #expect(throws: KafkaProtocolError.self) { _ = try MetadataRequest(from: &r2, version: 1) }
        // A varint that never ends.
        var r3 = KafkaReader(ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
        #expect(throws: KafkaProtocolError.self) { _ = try r3.readUnsignedVarint() }
    }

    @Test func produceRequestRecordsAreASliceOfTheFrame() throws {
        var req = ProduceRequest()
        req.acks = -1
        var td = ProduceRequest.TopicProduceData()
        td.name = "t"
        var pd = ProduceRequest.TopicProduceData.PartitionProduceData()
        pd.index = 2
        pd.records = KafkaRecords(bytes: ByteBuffer(bytes: Array(repeating: 7, count: 64)))
        td.partitionData = [pd]
        req.topicData = [td]
        for v: Int16 in [3, 7, 9, 11] {
            var w = KafkaWriter()
            req.write(to: &w, version: v)
            var r = KafkaReader(w.buffer)
            let back = try ProduceRequest(from: &r, version: v)
            #expect(back.acks == -1)
            #expect(back.topicData.first?.partitionData.first?.records?.count == 64)
        }
    }
}
