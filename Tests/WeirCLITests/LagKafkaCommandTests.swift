import Foundation
import Testing
import WeirClient
import WeirLog
import WeirKafka
@testable import WeirCLI

/// `weir lag GROUP --backend kafka --bootstrap-servers …`: the group's lag on a Kafka cluster
/// (librdkafka's in-process mock cluster, started by the test and reached by its address).
@Suite(.serialized) struct LagKafkaCommandTests {
    @Test func lagOfAGroupOnACluster() async throws {
        let mock = try KafkaMockCluster(brokers: 1)
        let kafka = try KafkaMessaging(mockCluster: mock)
        try await kafka.ensureTopic("orders", partitions: 2, configs: [:])
        let producer = try await kafka.makeProducer(properties: [:])
        for p: Int32 in 0..<2 {
            for i in 0..<8 { _ = try await producer.send(ProducerRecord(topic: "orders", partition: p, value: [UInt8(i)])) }
        }
        await producer.close()
        let consumer = try await kafka.makeConsumer(properties: ["group.id": "billing"])
        try await consumer.assign([TopicPartition("orders", 0)])
        try await consumer.commit([TopicPartition("orders", 0): 5])
        await consumer.close()

        let server = mock.bootstrapServers
        var (code, out) = await runCapturing(["lag", "billing", "--bootstrap-servers", server, "--topic", "orders", "--warn", "3"])
        #expect(code == 0, "\(out)")
        #expect(out.contains("total lag 11 (ok); group billing: warning"), "\(out)")
        (code, out) = await runCapturing(["lag", "billing", "--backend", "kafka", "--bootstrap-servers", server, "--critical-total", "11", "--topic", "orders", "--json"])
        #expect(code == 1)
        let snap = try #require(jsonLine(out, withKey: "level"), "\(out)")
        #expect(snap["totalLag"] as? Int == 11, "\(out)")
        #expect(snap["level"] as? String == "critical", "\(out)")
        // A group the cluster does not know: exit 1.
        #expect(await WeirCommand.run(arguments: ["lag", "nobody", "--bootstrap-servers", server]) == 1)
        // Usage errors, as for the other commands with a Kafka backend.
        #expect(await WeirCommand.run(arguments: ["lag", "billing", "--backend", "kafka"]) == 2)
        #expect(await WeirCommand.run(arguments: ["lag", "billing", "--backend", "embedded", "--mock-cluster"]) == 2)
    }
}
