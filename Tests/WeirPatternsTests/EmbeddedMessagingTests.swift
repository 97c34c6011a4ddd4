import Foundation
import Testing
import WeirClient
import WeirLog
import WeirPatterns

@Suite struct EmbeddedMessagingTests {
    @Test func roundTripThroughTheClientProtocols() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-pt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try LogDirectory.open(path: dir)
        defer { try? log.close() }
        let client: any MessagingClient = EmbeddedMessaging(logDirectory: log)
        try await client.ensureTopic("orders.order.created", partitions: 2, configs: [:])
        try await client.ensureTopic("orders.order.created", partitions: 2, configs: [:])
        #expect(try await client.partitionCount("orders.order.created") == 2)
        let producer = try await client.makeProducer(properties: ["acks": "all"])
        let md = try await producer.send(ProducerRecord(topic: "orders.order.created", partition: 1, key: "k", value: "v"))
        #expect(md.partition == 1 && md.offset == 0)
        await producer.close()
        let consumer = try await client.makeConsumer(properties: ["group.id": "g", "auto.offset.reset": "earliest"])
        try await consumer.subscribe(topics: ["orders.order.created"], listener: nil)
        var got: [ConsumerRecord] = []
        for _ in 0..<50 where got.isEmpty { got = try await consumer.poll(timeout: .milliseconds(100)) }
        #expect(got.map(\.valueString) == ["v"])
        try await consumer.commit([TopicPartition("orders.order.created", 1): 1])
        #expect(try await consumer.committed(TopicPartition("orders.order.created", 1)) == 1)
        await consumer.close()
        let ends = try await client.endOffsets([TopicPartition("orders.order.created", 1)])
        #expect(ends[TopicPartition("orders.order.created", 1)] == 1)
    }
}
