import Testing
import WeirClient
import WeirLog

/// The seam's table of property names and the embedded client's parsers agree: every key the
/// producer, the consumer or a topic takes has its scope, so the bench accepts and routes it.
@Suite struct ClientPropertiesTests {
    @Test func producerKeysMatchTheProducerConfiguration() {
        #expect(Set(ProducerConfiguration.knownKeys) == Set(ClientProperties.producerKeys + ClientProperties.clientKeys))
        #expect(Set(ProducerConfiguration.aliases.keys) == Set(ClientProperties.producerAliases))
    }

    @Test func consumerKeysMatchTheConsumerConfiguration() {
        #expect(Set(ConsumerConfiguration.knownKeys) == Set(ClientProperties.consumerKeys + ClientProperties.clientKeys))
    }

    @Test func everyLogConfigKeyIsATopicKey() {
        #expect(Set(LogConfig.knownKeys).isSubset(of: Set(ClientProperties.topicKeys)))
        #expect(ClientProperties.scope(of: "segment.bytes") == .topic)
        #expect(ClientProperties.scope(of: "compression.type") == .producer)
        #expect(ClientProperties.scope(of: "topic.compression.type") == .topic)
        #expect(ClientProperties.scope(of: "max.poll.interval.ms") == .consumer)
        #expect(ClientProperties.scope(of: "queue.buffering.max.ms") == nil)
    }
}
