public import Logging
public import ServiceLifecycle
public import WeirClient

/// Owns a producer's lifecycle in a `ServiceGroup`: on graceful shutdown it flushes what is
/// buffered (within `flushTimeout`) and closes the producer.
///
/// Services shut down in reverse order of the group's list, so list the producer before the
/// consumers that send through it: they stop first, then it flushes.
public final class ProducerService: Service, Sendable {
    public let producer: any MessageProducer
    public let flushTimeout: Duration
    let logger: Logger

    public init(_ producer: any MessageProducer, flushTimeout: Duration = .seconds(30), logger: Logger = Logger(label: "weir.producer")) {
        self.producer = producer
        self.flushTimeout = flushTimeout
        self.logger = logger
    }

    public func run() async throws {
        // Returns on graceful shutdown, throws on cancellation: flush and close either way.
        try? await gracefulShutdown()
        let producer = self.producer
        let race = _Race { () async throws -> Void in try await producer.flush() }
        race.startDeadline(flushTimeout)
        switch await race.outcome {
        case .finished(.success): break
        case .finished(.failure(let error)):
            logger.error("flush on shutdown failed; records buffered in the producer may be lost", metadata: ["error": "\(error)"])
        case .timedOut:
            logger.error("flush did not finish within \(flushTimeout); records buffered in the producer may be lost")
        }
        await producer.close()
    }
}
