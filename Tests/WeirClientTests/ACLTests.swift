import Foundation
import Testing
import WeirLog
@testable import WeirClient

private let alice = KafkaPrincipal(name: "alice")
private let bob = KafkaPrincipal(name: "bob")

private func allow(_ p: KafkaPrincipal, _ op: ACLOperation, _ type: ACLResourceType, _ name: String,
                   _ pattern: ACLPatternType = .literal) -> ACLBinding {
    ACLBinding(principal: p, resourceType: type, resourceName: name, patternType: pattern, operation: op, permission: .allow)
}

private func deny(_ p: KafkaPrincipal, _ op: ACLOperation, _ type: ACLResourceType, _ name: String,
                  _ pattern: ACLPatternType = .literal) -> ACLBinding {
    ACLBinding(principal: p, resourceType: type, resourceName: name, patternType: pattern, operation: op, permission: .deny)
}

@Suite(.serialized) struct ACLTests {
    @Test func decisionRuleDenyWinsPrefixAndWildcard() {
        let acls = [allow(alice, .write, .topic, "order.", .prefixed), deny(alice, .write, .topic, "order.secret"),
                    allow(.wildcard, .read, .topic, "*"), allow(bob, .all, .group, "billing")]
        func ok(_ p: KafkaPrincipal, _ op: ACLOperation, _ t: ACLResourceType, _ n: String) -> Bool {
            aclAuthorizes(acls, superUsers: [], principal: p, operation: op, resourceType: t, resourceName: n)
        }
        #expect(ok(alice, .write, .topic, "order.payment.completed"))
        #expect(!ok(alice, .write, .topic, "orders"))                  // prefix "order." does not match "orders"
        #expect(!ok(alice, .write, .topic, "order.secret"))            // deny wins over the prefixed allow
        #expect(ok(alice, .describe, .topic, "order.x"))                // write implies describe
        #expect(ok(bob, .read, .topic, "anything"))                     // User:* read on literal *
        #expect(!ok(bob, .write, .topic, "anything"))
        #expect(ok(bob, .read, .group, "billing") && !ok(alice, .read, .group, "billing"))
        #expect(aclAuthorizes(acls, superUsers: [bob], principal: bob, operation: .write, resourceType: .topic, resourceName: "order.secret"))
        #expect(KafkaPrincipal(saslUsername: nil) == .anonymous && KafkaPrincipal(saslUsername: "alice") == alice)
        #expect(KafkaPrincipal(parsing: "User:alice") == alice && KafkaPrincipal(parsing: "alice") == nil)
    }

    @Test func producerIsDeniedUntilAnACLAllowsIt() async throws {
        let t = try TestLog("acl-produce")
        defer { t.remove() }
        try t.createTopic("order.payment.completed")
        try t.createTopic("audit.log.written")
        let acls = try ACLAuthorizer.shared(for: t.dir)
        // No ACL yet: authorization is off.
        let open = try Producer(configuration: config(["sasl.username": "alice"]), logDirectory: t.dir)
        try await open.send(ProducerRecord(topic: "order.payment.completed", value: "a"))
        await open.close()

        try acls.add([allow(bob, .read, .topic, "audit.log.written")])   // any ACL turns authorization on
        let producer = try Producer(configuration: config(["sasl.username": "alice"]), logDirectory: t.dir)
        do {
            try await producer.send(ProducerRecord(topic: "order.payment.completed", value: "b"))
            Issue.record("write was allowed without an ACL")
        } catch {
            #expect(error.code == .authorizationFailed)
            #expect(error.message.contains("User:alice") && error.message.contains("write") && error.message.contains("order.payment.completed"))
            #expect(error.message.contains("weir acls add"))
        }
        await producer.close()

        try acls.add([allow(alice, .write, .topic, "order.", .prefixed)])
        let allowed = try Producer(configuration: config(["sasl.username": "alice"]), logDirectory: t.dir)
        let md = try await allowed.send(ProducerRecord(topic: "order.payment.completed", value: "c"))
        #expect(md.offset == 1)
        await #expect(throws: ClientError.self) { try await allowed.send(ProducerRecord(topic: "audit.log.written", value: "x")) }
        await allowed.close()

        // Anonymous (no sasl.username) is denied.
        let anonymous = try Producer(logDirectory: t.dir)
        await #expect(throws: ClientError.self) { try await anonymous.send(ProducerRecord(topic: "order.payment.completed", value: "d")) }
        await anonymous.close()
    }

    @Test func consumerNeedsReadOnTopicAndGroup() async throws {
        let t = try TestLog("acl-consume")
        defer { t.remove() }
        try t.createTopic("order.payment.completed")
        let acls = try ACLAuthorizer.shared(for: t.dir)
        try acls.add([allow(alice, .read, .topic, "order.payment.completed")])
        let props = ["group.id": "billing", "sasl.username": "alice", "auto.offset.reset": "earliest"]
        let consumer = try Consumer(properties: props, logDirectory: t.dir)
        do {
            try consumer.subscribe(topics: ["order.payment.completed"])
            Issue.record("subscribe without read on the group was allowed")
        } catch {
            #expect(error.code == .authorizationFailed)
            #expect(error.message.contains("group 'billing'"))
        }
        // assign needs only the topic; commit needs the group.
        let tp = TopicPartition("order.payment.completed", 0)
        try consumer.assign([tp])
        #expect(throws: ClientError.self) { try consumer.commit([tp: 0]) }
        try acls.add([allow(alice, .read, .group, "billing")])
        try consumer.commit([tp: 0])
        await consumer.close()

        let other = try Consumer(properties: ["group.id": "billing", "sasl.username": "bob"], logDirectory: t.dir)
        #expect(throws: ClientError.self) { try other.assign([tp]) }
        try acls.add([deny(bob, .read, .topic, "*"), allow(bob, .all, .topic, "order.", .prefixed)])
        #expect(throws: ClientError.self) { try other.assign([tp]) }    // the deny wins
        await other.close()
    }

    @Test func adminCreateDescribeDeleteAreChecked() throws {
        let t = try TestLog("acl-admin")
        defer { t.remove() }
        try t.createTopic("order.payment.completed")
        let acls = try ACLAuthorizer.shared(for: t.dir)
        try acls.add([allow(alice, .describe, .topic, "order.payment.completed")])
        let admin = Admin(logDirectory: t.dir, principal: alice)
        #expect(throws: ClientError.self) { try admin.createTopic("order.refund.issued", partitions: 1) }
        #expect(try admin.describeTopic("order.payment.completed").partitions.count == 1)
        #expect(throws: ClientError.self) { try Admin(logDirectory: t.dir, principal: bob).describeTopic("order.payment.completed") }
        #expect(Admin(logDirectory: t.dir, principal: bob).listTopics().isEmpty)
        #expect(throws: ClientError.self) { try admin.deleteTopic("order.payment.completed") }
        try acls.add([allow(alice, .create, .cluster, ""), allow(alice, .delete, .topic, "order.", .prefixed)])
        try admin.createTopic("order.refund.issued", partitions: 1)
        try admin.deleteTopic("order.refund.issued")
        // super.users may do anything.
        try acls.setSuperUsers([bob])
        try Admin(logDirectory: t.dir, principal: bob).createTopic("audit.log.written", partitions: 1)
    }

    @Test func aclsAreDurableAndRemovable() throws {
        let t = try TestLog("acl-store")
        defer { t.remove() }
        let acls = try ACLAuthorizer.shared(for: t.dir)
        let added = try acls.add([allow(alice, .read, .topic, "a"), allow(alice, .read, .topic, "a"), deny(bob, .all, .group, "g")])
        #expect(added.count == 2)
        let reopened = try t.reopen()
        defer { try? reopened.close() }
        let loaded = try ACLAuthorizer.shared(for: reopened)
        #expect(loaded.acls.count == 2)
        #expect(try loaded.remove { $0.principal == bob }.count == 1)
        #expect(try ACLAuthorizer(directoryPath: t.path).acls == [allow(alice, .read, .topic, "a")])
        #expect(!FileManager.default.fileExists(atPath: t.path + "/acls.json.tmp"))
        // A corrupt file is a clear error.
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: t.path + "/acls.json"))
        #expect(throws: ClientError.self) { try ACLAuthorizer(directoryPath: t.path) }
        // Validation.
        #expect(throws: ClientError.self) { try acls.add([allow(alice, .write, .group, "g")]) }
        #expect(throws: ClientError.self) { try ProducerConfiguration(properties: ["sasl.mechanism": "MAGIC"]) }
        #expect(try ConsumerConfiguration(properties: ["sasl.username": "alice", "sasl.password": "pw", "sasl.mechanism": "plain"]).saslMechanism == "PLAIN")
    }
}
