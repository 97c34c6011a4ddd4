import NIOCore
import Testing
@testable import WeirServer

/// An API or version `weir serve` does not serve is answered with `UNSUPPORTED_VERSION` in that
/// API's own response, and the connection stays open.
@Suite(.serialized) struct UnsupportedVersionTests {
    static let unsupported = KafkaErrorCode.unsupportedVersion.rawValue

    /// The response frame after the correlation id (and the flexible header's tagged fields).
    static func body(_ c: RawClient, key: Int16, version: Int16, id: Int32, flexible: Bool) async throws -> KafkaReader {
        var resp = try #require(await c.request(apiKey: key, version: version, correlationId: id, flexible: flexible))
        #expect(resp.readInteger(as: Int32.self) == id)
        var r = KafkaReader(resp)
        if flexible { _ = try r.readUnsignedVarint() }
        return r
    }

    @Test func unservedVersionsAndApisGetUnsupportedVersion() async throws {
        try await ServerTests.withServer { _, port in
            let c = try RawClient(port: port)
            // Fetch v16 (Kafka defines it; weir serve serves 0...12): the top-level error code.
            let fetchMax = try #require(KafkaBroker.supportedVersions[.fetch]).upperBound
            #expect(fetchMax < 16)
            var r = try await Self.body(c, key: 1, version: 16, id: 1, flexible: true)
            let fetch = try FetchResponse(from: &r, version: 16)
            #expect(fetch.errorCode == Self.unsupported)
            #expect(fetch.responses.isEmpty)
            #expect(r.remaining == 0, "the whole frame is one FetchResponse v16")
            // Heartbeat v99 (past every definition): the open-ended version ranges still apply.
            r = try await Self.body(c, key: 12, version: 99, id: 2, flexible: true)
            #expect(try HeartbeatResponse(from: &r, version: 99).errorCode == Self.unsupported)
            // Heartbeat v-1 (below every version): a non-flexible answer.
            r = try await Self.body(c, key: 12, version: -1, id: 3, flexible: false)
            #expect(try r.readInt16() == Self.unsupported)
            // DescribeAcls (29), an API weir serve does not serve at all: throttle, error code.
            r = try await Self.body(c, key: 29, version: 1, id: 4, flexible: false)
            _ = try r.readInt32()
            #expect(try r.readInt16() == Self.unsupported)
            // The same connection still serves what it serves.
            var md = KafkaWriter()
            MetadataRequest().write(to: &md, version: 1)
            #expect(await c.request(apiKey: 3, version: 1, correlationId: 5, flexible: false, body: md) != nil)
        }
    }

    @Test func everyApiOfKafkasDefinitionsHasAnAnswer() throws {
        for key in ApiKey.allCases {
            #expect(UnsupportedVersionResponse.knows(apiKey: key.rawValue), "\(key)")
        }
        #expect(!UnsupportedVersionResponse.knows(apiKey: 999))
        // Produce v12 has no top-level error code: an empty, well-formed response.
        let w = try #require(UnsupportedVersionResponse.body(apiKey: 0, version: 12, errorCode: Self.unsupported))
        var r = KafkaReader(w.buffer)
        #expect(try ProduceResponse(from: &r, version: 12).responses.isEmpty)
        #expect(r.remaining == 0)
    }
}
