public import Logging
public import ServiceLifecycle
import Synchronization
public import WeirClient
import WeirLog

/// Handles one consumed record. Throwing stops a `ConsumerService` (after committing what was
/// processed before); put retries and a dead-letter topic inside the handler.
public typealias RecordHandler = @Sendable (ConsumerRecord) async throws -> Void

/// A consumer poll loop as a swift-service-lifecycle `Service`, with at-least-once delivery and
/// a graceful shutdown that loses nothing:
///
/// 1. it subscribes `consumer` to `topics` and polls;
/// 2. it hands records to `handler` one at a time, and after each polled batch commits the next
///    offset of every partition it processed (and, on a rebalance, of the partitions revoked);
/// 3. on graceful shutdown (SIGTERM/SIGINT in a `ServiceGroup`) it stops polling, lets the
///    in-flight handler finish within `shutdownTimeout` (after that it cancels it and does not
///    commit that record, which is then redelivered), skips the rest of the batch, commits what
///    was processed and closes the consumer.
///
/// A restarted member of the same group resumes exactly after the last processed record.
/// Works over any `MessageConsumer` (embedded log or Kafka).
public final class ConsumerService: Service, Sendable {
    public struct Configuration: Sendable {
        /// The topics to subscribe to.
        public var topics: [String]
        /// The longest one `poll` waits; bounds how quickly the loop notices a shutdown.
        /// Default 100 ms.
        public var pollTimeout: Duration = .milliseconds(100)
        /// How long an in-flight handler may still run once graceful shutdown begins. Default
        /// 10 s.
        public var shutdownTimeout: Duration = .seconds(10)
        /// The name the service reports its health under (`consumer.NAME`).
        public var name: String = "consumer"

        public init(topics: [String], pollTimeout: Duration = .milliseconds(100), shutdownTimeout: Duration = .seconds(10), name: String = "consumer") {
            self.topics = topics
            self.pollTimeout = pollTimeout
            self.shutdownTimeout = shutdownTimeout
            self.name = name
        }
    }

    /// How the loop ended.
    public enum Stop: String, Sendable, Hashable {
        case gracefulShutdown, cancelled, handlerFailed, handlerTimedOut, consumerFailed
    }

    public let consumer: any MessageConsumer
    public let configuration: Configuration
    let handler: RecordHandler
    let health: HealthComponent?
    let logger: Logger
    /// Offsets processed but not yet committed (next offset per partition).
    let _pending = Mutex<[TopicPartition: Int64]>([:])
    let _processed = Atomic<Int64>(0)
    let _stop = Mutex<Stop?>(nil)

    public init(consumer: any MessageConsumer, configuration: Configuration, health: HealthRegistry? = nil,
                logger: Logger = Logger(label: "weir.consumer"), handler: @escaping RecordHandler) {
        self.consumer = consumer
        self.configuration = configuration
        self.handler = handler
        self.health = health.map { $0.component("consumer.\(configuration.name)") }
        self.logger = logger
    }

    /// Records handled successfully so far.
    public var processedCount: Int64 { _processed.load(ordering: .relaxed) }

    /// Why `run()` returned (nil while it runs).
    public var stopReason: Stop? { _stop.withLock { $0 } }

    struct _Listener: MessageRebalanceListener {
        let service: ConsumerService
        func partitionsRevoked(_ partitions: [TopicPartition]) async {
            // Called inside poll, so no handler runs now: what is pending is final.
            let offsets = service._pending.withLock { p -> [TopicPartition: Int64] in
                var out: [TopicPartition: Int64] = [:]
                for tp in partitions { if let o = p.removeValue(forKey: tp) { out[tp] = o } }
                return out
            }
            if offsets.isEmpty { return }
            do { try await service.consumer.commit(offsets) } catch {
                service.logger.warning("commit on revocation failed; those records will be redelivered", metadata: ["error": "\(error)"])
            }
        }
        func partitionsAssigned(_ partitions: [TopicPartition]) async {}
        func partitionsLost(_ partitions: [TopicPartition]) async {
            // Another member owns them already: committing would move its position.
            service._pending.withLock { p in for tp in partitions { p[tp] = nil } }
        }
    }

    public func run() async throws {
        health?.healthy("starting")
        do {
            try await consumer.subscribe(topics: configuration.topics, listener: _Listener(service: self))
        } catch {
            health?.failed(error, during: "subscribe")
            await consumer.close()
            throw error
        }
        health?.healthy("consuming \(configuration.topics.joined(separator: ", "))")
        var failure: (any Error)?
        var stop = Stop.gracefulShutdown
        polling: while true {
            if Task.isShuttingDownGracefully { stop = .gracefulShutdown; break }
            if Task.isCancelled { stop = .cancelled; break }
            let records: [ConsumerRecord]
            do {
                records = try await consumer.poll(timeout: configuration.pollTimeout)
            } catch {
                if error.code == .cancelled || Task.isCancelled { stop = .cancelled; break }
                if error.isRetriable {
                    health?.failed(error, during: "poll")
                    continue
                }
                failure = error
                stop = .consumerFailed
                break
            }
            for record in records {
                if Task.isShuttingDownGracefully { stop = .gracefulShutdown; break polling }
                if Task.isCancelled { stop = .cancelled; break polling }
                switch await _handle(record) {
                case .finished(.success):
                    _pending.withLock { $0[TopicPartition(record.topic, record.partition)] = record.offset + 1 }
                    _processed.add(1, ordering: .relaxed)
                case .finished(.failure(let error)):
                    if error is CancellationError || Task.isCancelled {
                        stop = Task.isShuttingDownGracefully ? .handlerTimedOut : .cancelled
                    } else {
                        failure = error
                        stop = .handlerFailed
                    }
                    break polling
                case .timedOut:
                    logger.warning("the in-flight handler did not finish within the shutdown timeout; its record is not committed and will be redelivered",
                                   metadata: ["topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)"])
                    stop = .handlerTimedOut
                    break polling
                }
            }
            if let error = await _commitPending() {
                if error.isRetriable { health?.failed(error, during: "commit") } else { failure = error; stop = .consumerFailed; break }
            }
        }
        if let error = await _commitPending(), failure == nil {
            failure = error
            stop = .consumerFailed
        }
        await consumer.close()
        _stop.withLock { $0 = stop }
        if let failure {
            health?.failed(failure, during: stop == .handlerFailed ? "the handler" : "consuming")
            throw failure
        }
        health?.set(.healthy, "stopped (\(stop.rawValue)) after \(processedCount) record(s)")
    }

    func _handle(_ record: ConsumerRecord) async -> _Race<Void>.Outcome {
        let handler = self.handler
        let race = _Race { try await handler(record) }
        let timeout = configuration.shutdownTimeout
        return await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await race.outcome
            } onGracefulShutdown: {
                race.startDeadline(timeout)
            }
        } onCancel: {
            race.cancel()
        }
    }

    /// Commits what was processed since the last commit; the error, if the commit failed (the
    /// offsets stay pending and are tried again).
    func _commitPending() async -> ClientError? {
        let offsets = _pending.withLock { $0 }
        if offsets.isEmpty { return nil }
        do {
            try await consumer.commit(offsets)
        } catch {
            return error
        }
        _pending.withLock { p in for (tp, o) in offsets where p[tp] == o { p[tp] = nil } }
        return nil
    }
}
