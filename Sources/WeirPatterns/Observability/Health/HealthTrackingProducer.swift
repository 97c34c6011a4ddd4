public import WeirClient

/// A `MessageProducer` that reports its health to a `HealthRegistry` (as `producer.NAME`):
/// healthy after a successful send or flush, degraded after a retriable failure (until the next
/// success), unhealthy after a non-retriable one (a fenced or closed producer, a record too
/// large).
public struct HealthTrackingProducer: MessageProducer {
    public let base: any MessageProducer
    public let health: HealthComponent

    public init(_ base: any MessageProducer, registry: HealthRegistry, name: String = "default") {
        self.base = base
        self.health = registry.component("producer.\(name)")
        health.healthy("no sends yet")
    }

    public func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
        do {
            let metadata = try await base.send(record)
            health.healthy("last send acknowledged (\(metadata))")
            return metadata
        } catch {
            health.failed(error, during: "send to \(record.topic)")
            throw error
        }
    }

    public func flush() async throws(ClientError) {
        do { try await base.flush() } catch {
            health.failed(error, during: "flush")
            throw error
        }
    }

    public func close() async {
        await base.close()
        health.healthy("closed")
    }
}
