import Foundation
import WeirClient

/// `weir example schema-evolution`: v1, v2 and v3 events read as v3; a v4 goes to the DLQ.
let schemaEvolutionExample = PatternExample(
    name: "schema-evolution",
    summary: "versioned envelopes, upcasters v1→v2→v3, and an unknown (newer) version routed to <topic>.dlq"
) { client, _, output in
    struct PaymentV3: Codable, Sendable { var amountCents: Int64; var currency: String; var method: String }
    var registry = SchemaRegistry()
    registry.register("PaymentReceived", currentVersion: 3)
    // v1 {amount: 12.5} → v2 adds currency → v3 amount in cents, adds method.
    registry.addUpcaster("PaymentReceived", from: 1) { v in var v = v; v["currency"] = .string("EUR"); return v }
    registry.addUpcaster("PaymentReceived", from: 2) { v in
        var v = v
        v["amountCents"] = .int(Int64(((v["amount"]?.double ?? 0) * 100).rounded()))
        v["method"] = .string("card")
        return v
    }
    let topic = "billing.payment.received"
    try await client.ensureTopic(topic, partitions: 1, configs: [:])
    try await client.ensureTopic(topic + ".dlq", partitions: 1, configs: [:])
    let producer = try await client.makeProducer(properties: ["acks": "all"])
    let payloads: [(Int, String)] = [
        (1, #"{"amount":12.5}"#), (2, #"{"amount":7.25,"currency":"USD"}"#),
        (3, #"{"amountCents":999,"currency":"GBP","method":"transfer"}"#), (4, #"{"amount":{"value":1}}"#),
    ]
    for (version, json) in payloads {
        let envelope = SchemaEnvelope(type: "PaymentReceived", version: version, payload: Array(json.utf8))
        _ = try await producer.send(ProducerRecord(topic: topic, key: Array("p-\(version)".utf8), value: envelope.payload, headers: envelope.headers))
    }
    let consumer = try await client.makeConsumer(properties: ["group.id": "billing", "auto.offset.reset": "earliest"])
    try await consumer.subscribe(topics: [topic], listener: nil)
    let decoder = VersionedDecoder(registry: registry, deadLetterProducer: producer)
    var handled = 0
    while handled < payloads.count {
        for record in try await consumer.poll(timeout: .milliseconds(200)) {
            switch try await decoder.decode(PaymentV3.self, record) {
            case .decoded(let p): output("offset \(record.offset): \(p.amountCents) \(p.currency) cents by \(p.method)")
            case .deadLettered(let error, let md): output("offset \(record.offset): to \(md.topic) (\(error.code.rawValue)): \(error.message)")
            }
            try await consumer.commit([record.topicPartition: record.offset + 1])
            handled += 1
        }
    }
    await consumer.close()
    await producer.close()
}
