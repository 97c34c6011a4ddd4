import Foundation
import Testing
import WeirClient
import WeirLog
import WeirPatterns

@Suite struct NamingTests {
    @Test func conventionAcceptsAndRejects() {
        let p = TopicNamingPolicy.domainEntityEvent
        for ok in ["user.profile.updated", "order.payment.completed", "order.payment.completed.dlq",
                   "order.payment.completed.retry.1", "inventory.stock-level.reduced", "__consumer_offsets"] {
            #expect(p.accepts(ok), "\(ok)")
        }
        for bad in ["orders", "order.payment", "Order.payment.completed", "order.payment.completed.extra",
                    "order..completed", "order.payment.completed.retry.0", "order.payment.completed.retry.x", "1order.payment.completed",
                    "order_x.payment.completed"] {
            #expect(!p.accepts(bad), "\(bad)")
        }
        do {
            try p.validate("Orders")
            Issue.record("accepted")
        } catch {
            #expect(error.code == .invalidTopic)
            #expect(error.message.contains("<domain>.<entity>.<event-type>") && error.message.contains("order.payment.completed"))
        }
        let relaxed = TopicNamingPolicy(segments: ["domain", "event"], allowsDLQSuffix: false, example: "billing.charged")
        #expect(relaxed.accepts("billing.charged") && !relaxed.accepts("billing.charged.dlq"))
        #expect(RetryTopics.sourceTopic(of: "a.b.c.retry.2") == "a.b.c" && RetryTopics.sourceTopic(of: "a.b.c.dlq") == "a.b.c")
        #expect(RetryTopics.sourceTopic(of: "a.b.c") == nil)
    }

    @Test func adminEnforcesThePolicy() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-naming-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try LogDirectory.open(path: dir)
        defer { try? log.close() }
        let admin = Admin(logDirectory: log, topicNamingPolicy: .domainEntityEvent)
        #expect(throws: ClientError.self) { try admin.createTopic("orders", partitions: 1) }
        #expect(!log.topicNames.contains("orders"))
        try admin.createTopic("order.payment.completed", partitions: 1)
        try admin.createTopic(RetryTopics.deadLetterTopic("order.payment.completed"), partitions: 1)
        try Admin(logDirectory: log).createTopic("orders", partitions: 1)   // no policy: Kafka's rules only
    }
}
