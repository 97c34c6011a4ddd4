import Testing
import WeirLog
@testable import WeirClient

/// ACL changes reach clients that already use a topic, and `EmbeddedMessaging` acts as its
/// principal.
@Suite struct ACLChangeTests {
    static let alice = KafkaPrincipal(name: "alice")

    static func allowWrite(_ p: KafkaPrincipal, _ topic: String) -> ACLBinding {
        ACLBinding(principal: p, resourceType: .topic, resourceName: topic, patternType: .literal, operation: .write, permission: .allow)
    }

    static func isDenied(_ error: any Error) -> Bool { (error as? ClientError)?.code == .authorizationFailed }

    @Test func aProducerSeesWritePermissionRevokedAndGrantedAgain() async throws {
        let t = try TestLog("acl-change")
        defer { t.remove() }
        try t.createTopic("orders")
        let acls = try ACLAuthorizer.shared(for: t.dir)
        try acls.add([Self.allowWrite(Self.alice, "orders")])
        let producer = try Producer(configuration: config(["sasl.username": "alice", "linger.ms": "0"]), logDirectory: t.dir)
        _ = try await producer.send(ProducerRecord(topic: "orders", value: "1"))

        // Revoked: the next send fails, through every entry point.
        try acls.remove { $0.principal == Self.alice }
        try acls.add([Self.allowWrite(KafkaPrincipal(name: "bob"), "orders")])   // authorization stays on
        await #expect { _ = try await producer.send(ProducerRecord(topic: "orders", value: "2")) } throws: { Self.isDenied($0) }
        #expect { try producer.partitionCount("orders") } throws: { Self.isDenied($0) }
        let v: [UInt8] = [3]
        #expect { try v.withUnsafeBytes { _ = try producer.produceNow(topic: "orders", key: nil, value: $0) } } throws: { Self.isDenied($0) }

        // Granted again: sends go through, on the same producer.
        try acls.add([Self.allowWrite(Self.alice, "orders")])
        _ = try await producer.send(ProducerRecord(topic: "orders", value: "4"))
        _ = try v.withUnsafeBytes { try producer.produceNow(topic: "orders", key: nil, value: $0) }
        await producer.flush()
        #expect(try t.dir.partition("orders", 0).highWatermark == 3)
        await producer.close()
    }

    @Test func turningAuthorizationOnReachesAProducerThatWroteWhileItWasOff() async throws {
        let t = try TestLog("acl-on")
        defer { t.remove() }
        try t.createTopic("orders")
        let producer = try Producer(configuration: config(["sasl.username": "alice"]), logDirectory: t.dir)
        _ = try await producer.send(ProducerRecord(topic: "orders", value: "open"))
        // The first ACL turns authorization on; it allows someone else.
        try ACLAuthorizer.shared(for: t.dir).add([Self.allowWrite(KafkaPrincipal(name: "bob"), "orders")])
        await #expect { _ = try await producer.send(ProducerRecord(topic: "orders", value: "closed")) } throws: { Self.isDenied($0) }
        // A super user may do anything.
        try ACLAuthorizer.shared(for: t.dir).setSuperUsers([Self.alice])
        _ = try await producer.send(ProducerRecord(topic: "orders", value: "super"))
        await producer.close()
    }

    @Test func embeddedMessagingCreatesTopicsAsItsPrincipal() async throws {
        let t = try TestLog("acl-messaging")
        defer { t.remove() }
        let acls = try ACLAuthorizer.shared(for: t.dir)
        try acls.add([ACLBinding(principal: Self.alice, resourceType: .topic, resourceName: "alice.", patternType: .prefixed, operation: .all, permission: .allow)])

        let asAlice = EmbeddedMessaging(logDirectory: t.dir, saslUsername: "alice")
        #expect(asAlice.principal == Self.alice)
        try await asAlice.ensureTopic("alice.events", partitions: 2, configs: ["segment.bytes": "1048576"])
        #expect(try t.dir.partitionCount("alice.events") == 2)
        // Its producers and consumers act as alice too, unless they name their own user.
        let producer = try await asAlice.makeProducer(properties: [:])
        _ = try await producer.send(ProducerRecord(topic: "alice.events", partition: 0, value: "x"))
        await producer.close()
        let consumer = try await asAlice.makeConsumer(properties: ["sasl.username": "mallory"])
        await #expect { try await consumer.assign([TopicPartition("alice.events", 0)]) } throws: { Self.isDenied($0) }
        await consumer.close()

        // User:ANONYMOUS and other users are denied.
        await #expect { try await EmbeddedMessaging(logDirectory: t.dir).ensureTopic("alice.more", partitions: 1, configs: [:]) } throws: { Self.isDenied($0) }
        await #expect {
            try await EmbeddedMessaging(logDirectory: t.dir, saslUsername: "bob").ensureTopic("alice.more", partitions: 1, configs: [:])
        } throws: { Self.isDenied($0) }
        #expect(!t.dir.topicNames.contains("alice.more"))
    }
}
