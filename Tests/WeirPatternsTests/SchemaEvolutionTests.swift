import Foundation
import Testing
import WeirClient
import WeirPatterns

@Suite struct SchemaEvolutionTests {
    struct PaymentV3: Codable, Sendable, Equatable { var amountCents: Int64; var currency: String; var method: String }

    static var registry: SchemaRegistry {
        var r = SchemaRegistry()
        r.register("PaymentReceived", currentVersion: 3)
        r.addUpcaster("PaymentReceived", from: 1) { v in var v = v; v["currency"] = .string("EUR"); return v }
        r.addUpcaster("PaymentReceived", from: 2) { v in
            var v = v
            guard let amount = v["amount"]?.double else { throw CommandRejected("amount missing") }
            v["amountCents"] = .int(Int64((amount * 100).rounded()))
            v["method"] = .string("card")
            return v
        }
        return r
    }

    func record(_ type: String, _ version: Int, _ json: String, topic: String = "billing.payment.received") -> ConsumerRecord {
        let e = SchemaEnvelope(type: type, version: version, payload: Array(json.utf8))
        return ConsumerRecord(topic: topic, partition: 0, offset: 3, timestamp: 0, key: Array("k".utf8), value: e.payload, headers: e.headers)
    }

    func expectError(_ code: SchemaError.Code, _ r: ConsumerRecord) {
        do {
            _ = try Self.registry.decode(PaymentV3.self, from: r)
            Issue.record("decoded a record that should fail with \(code)")
        } catch {
            #expect(error.code == code)
            #expect(!error.isRetriable)
            #expect(!(error as any ClassifiedError).isRetriable)
        }
    }

    @Test func upcastsAlongTheChain() throws {
        let r = Self.registry
        #expect(try r.decode(PaymentV3.self, from: record("PaymentReceived", 1, #"{"amount":12.5}"#)) == PaymentV3(amountCents: 1250, currency: "EUR", method: "card"))
        #expect(try r.decode(PaymentV3.self, from: record("PaymentReceived", 2, #"{"amount":1.1,"currency":"USD"}"#)) == PaymentV3(amountCents: 110, currency: "USD", method: "card"))
        #expect(try r.decode(PaymentV3.self, from: record("PaymentReceived", 3, #"{"amountCents":7,"currency":"GBP","method":"cash"}"#)) == PaymentV3(amountCents: 7, currency: "GBP", method: "cash"))
        let e = try r.envelope("PaymentReceived", PaymentV3(amountCents: 1, currency: "EUR", method: "card"))
        #expect(e.version == 3 && e.headers.map(\.key) == ["event.type", "schema.version"])
    }

    @Test func unknownVersionsAndTypesAreTypedNonRetriableErrors() {
        expectError(.newerVersion, record("PaymentReceived", 4, #"{"amountCents":1}"#))
        expectError(.unknownType, record("RefundIssued", 1, "{}"))
        expectError(.malformedPayload, record("PaymentReceived", 1, "not json"))
        expectError(.malformedPayload, record("PaymentReceived", 2, #"{"currency":"EUR"}"#)) // upcaster throws
        expectError(.malformedPayload, record("PaymentReceived", 3, #"{"amountCents":"x"}"#)) // wrong shape at v3
        var noHeaders = record("PaymentReceived", 1, "{}")
        noHeaders.headers = []
        expectError(.missingEnvelope, noHeaders)
        var badVersion = record("PaymentReceived", 1, "{}")
        badVersion.headers[1].value = Array("v1".utf8)
        expectError(.missingEnvelope, badVersion)
        var gap = SchemaRegistry()
        gap.register("T", currentVersion: 3)
        gap.addUpcaster("T", from: 2) { $0 }
        do { _ = try gap.upcast(SchemaEnvelope(type: "T", version: 1, payload: Array("{}".utf8))); Issue.record("gap accepted") } catch {
            #expect(error.code == .missingUpcaster && error.message.contains("from: 1"))
        }
    }

    @Test func undecodableRecordsGoToTheDLQWithErrorHeaders() async throws {
        let f = try EmbeddedFixture()
        defer { f.remove() }
        try await f.client.ensureTopic("billing.payment.received.dlq", partitions: 1, configs: [:])
        let producer = try await f.client.makeProducer(properties: [:])
        let decoder = VersionedDecoder(registry: Self.registry, deadLetterProducer: producer)
        let ok = try await decoder.decode(PaymentV3.self, record("PaymentReceived", 1, #"{"amount":2}"#))
        guard case .decoded(let p) = ok else { Issue.record("v1 not decoded"); return }
        #expect(p.amountCents == 200)
        let newer = record("PaymentReceived", 9, #"{"x":1}"#)
        guard case .deadLettered(let error, let md) = try await decoder.decode(PaymentV3.self, newer) else { Issue.record("v9 not dead-lettered"); return }
        #expect(error.code == .newerVersion && md.topic == "billing.payment.received.dlq")
        await producer.close()
        let dlq = try await f.readAll("billing.payment.received.dlq", expecting: 1)
        #expect(dlq.count == 1)
        let h = Dictionary(dlq[0].headers.map { ($0.key, String(decoding: $0.value ?? [], as: UTF8.self)) }, uniquingKeysWith: { $1 })
        // The retry pipeline's DLQ headers (RetryHeaders), so `weir dlq replay` can send it back.
        #expect(h[RetryHeaders.errorType]?.hasSuffix("SchemaError") == true)
        #expect(h[RetryHeaders.errorContext]?.contains("newerVersion") == true)
        #expect(h[RetryHeaders.errorMessage]?.contains("newer") == true)
        #expect(h[RetryHeaders.originalTopic] == "billing.payment.received" && h[RetryHeaders.originalPartition] == "0" && h[RetryHeaders.originalOffset] == "3")
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        #expect(h[RetryHeaders.failedAt].flatMap { iso.date(from: $0) } != nil)
        #expect(h["schema.version"] == "9" && dlq[0].value == newer.value && dlq[0].key == newer.key)
        // Without a DLQ producer the error is thrown.
        await #expect(throws: SchemaError.self) { _ = try await VersionedDecoder(registry: Self.registry).decode(PaymentV3.self, newer) }
    }

    @Test func jsonValueRoundTrips() throws {
        let v = try JSONValue.parse(Array(#"{"a":[1,2.5,"x",true,null],"b":{"c":-7}}"#.utf8))
        #expect(v["b"]?["c"]?.int == -7)
        #expect(try JSONValue.parse(try v.serialized()) == v)
    }
}
