import Foundation
import Testing
@testable import WeirKafka

/// `KafkaAdmin`'s CreateTopics and DescribeGroups against librdkafka 2.0.2's mock cluster, which
/// implements neither: both must fail fast with an error that says so, never hang.
@Suite("Kafka admin on the mock cluster")
struct AdminTests {
    @Test func createTopicsFailsClearlyWithinItsTimeout() async throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers]))
        // The mock's Metadata names no controller, so the request waits for one until its timeout.
        await #expect {
            try await admin.createTopics([KafkaNewTopic(name: "admin-created", partitions: 4, replicationFactor: 1, config: ["retention.ms": "60000"])],
                                         timeout: .seconds(2))
        } throws: { error in
            let e = error as! KafkaError
            return e.code == KafkaError.timedOutCode && e.isRetriable && e.message.contains("create topics") && e.message.contains("controller")
        }
        // A topic that breaks the rules is rejected before any request.
        await #expect {
            try await admin.createTopics([KafkaNewTopic(name: "bad", partitions: -5)], timeout: .seconds(2))
        } throws: { error in
            (error as! KafkaError).message.contains("bad")
        }
    }

    @Test func describeGroupsReportsTheUnsupportedRequest() async throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers]))
        // A group with a member, so there is something to describe.
        try cluster.createTopic("described", partitions: 1)
        let consumer = try KafkaConsumer(configuration: KafkaConfiguration(["bootstrap.servers": cluster.bootstrapServers]), groupID: "described-group")
        try consumer.subscribe(["described"])
        try MockClusterTests.pollUntil([consumer], limit: .seconds(30), { !consumer.assignment.isEmpty })
        for group in [nil, "described-group"] as [String?] {
            await #expect {
                _ = try await admin.describeGroups(group, timeout: .seconds(5))
            } throws: { error in
                let e = error as! KafkaError
                return e.name == "_UNSUPPORTED_FEATURE" && e.message.contains("describe groups") && e.message.contains("does not implement")
            }
        }
        await consumer.close()
    }
}
