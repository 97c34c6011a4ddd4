import Testing
import WeirClient
import WeirLog

/// The property tables are the one declaration: the routing names come from them, every key a
/// table declares parses with its own default, and a table's rows carry what the listings print.
@Suite struct ClientPropertiesTests {
    @Test func everyDeclaredKeyIsRoutedToItsScope() {
        for key in ProducerConfiguration.knownKeys { #expect([.producer, .client].contains(ClientProperties.scope(of: key)), "\(key)") }
        for key in ConsumerConfiguration.knownKeys { #expect([.consumer, .client].contains(ClientProperties.scope(of: key)), "\(key)") }
        for key in LogConfig.knownKeys where !ProducerConfiguration.knownKeys.contains(key) {
            #expect(ClientProperties.scope(of: key) == .topic, "\(key)")
        }
        for (alias, name) in ClientProperties.aliases { #expect(ClientProperties.scope(of: alias) == ClientProperties.scope(of: name)) }
        #expect(ClientProperties.scope(of: "compression.type") == .producer)
        #expect(ClientProperties.scope(of: "topic.compression.type") == .topic)
        #expect(ClientProperties.scope(of: "min.insync.replicas") == .topic)
        #expect(ClientProperties.scope(of: "queue.buffering.max.ms") == nil)
    }

    /// Each listed default is what the configuration holds by default, and parses back to it.
    @Test func listedDefaultsRoundTrip() throws {
        // (enable.idempotence is left out: written explicitly, it is no longer the default's "unset")
        let p = try ProducerConfiguration(properties: Dictionary(uniqueKeysWithValues: ProducerConfiguration.table.rows
            .filter { $0.name != "sasl.password" && $0.name != "enable.idempotence" }.map { ($0.name, $0.defaultValue) }))
        #expect(p == ProducerConfiguration())
        let c = try ConsumerConfiguration(properties: Dictionary(uniqueKeysWithValues: ConsumerConfiguration.table.rows
            .filter { $0.name != "sasl.password" }.map { ($0.name, $0.defaultValue) }))
        #expect(c == ConsumerConfiguration())
        let t = try LogConfig(properties: Dictionary(uniqueKeysWithValues: LogConfig.table.rows.map { ($0.name, $0.defaultValue) }))
        #expect(t == LogConfig())
        #expect(ProducerConfiguration.table.rows.first { $0.name == "batch.size" }
            == PropertyRow(name: "batch.size", scope: .producer, type: "int", defaultValue: "16384", allowed: "0...2147483647",
                           doc: "bytes of each partition's batch"))
    }

    /// The shared client keys are declared once and accepted by both clients, aliases included.
    @Test func sharedClientKeysAndAliases() throws {
        #expect(Set(ClientProperties.clientKeys) == ["client.id", "allow.auto.create.topics", "sasl.username", "sasl.password", "sasl.mechanism"])
        let p = try ProducerConfiguration(properties: ["clientId": "a", "idempotent": "false", "sasl.mechanism": "plain"])
        #expect(p.clientId == "a" && !p.enableIdempotence && p.enableIdempotenceIsExplicit && p.saslMechanism == "PLAIN")
        let c = try ConsumerConfiguration(properties: ["client.id": "b", "partition.assignment.strategy": "roundrobin, org.apache.kafka.clients.consumer.RangeAssignor"])
        #expect(c.clientId == "b" && c.partitionAssignmentStrategy == [.roundRobin, .range])
        #expect(c.properties["partition.assignment.strategy"] == "roundrobin,range")
    }
}
