public import Tracing
public import WeirClient

/// A `MessageProducer` that wraps each send in a `producer` span (`<topic> publish`) and injects
/// its W3C `traceparent` into the record's headers, so the consumer's process span becomes its
/// child. The span is a child of the caller's current span (`InstrumentationContext.current`).
///
/// Attributes follow OpenTelemetry's messaging conventions: `messaging.system`,
/// `messaging.destination.name`, `messaging.destination.partition.id`,
/// `messaging.kafka.message.offset`.
public struct TracingProducer: MessageProducer {
    public let base: any MessageProducer
    let tracer: any Tracer

    /// - Parameter tracer: nil for the bootstrapped `InstrumentationSystem.tracer`.
    public init(_ base: any MessageProducer, tracer: (any Tracer)? = nil) {
        self.base = base
        self.tracer = tracer ?? InstrumentationSystem.tracer
    }

    public func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
        let span = tracer.startSpan("\(record.topic) publish", context: InstrumentationContext.current ?? .topLevel, ofKind: .producer,
                                    at: DefaultTracerClock.now, function: #function, file: #fileID, line: #line)
        var traced = record
        tracer.inject(span.context, into: &traced.headers, using: RecordHeadersInjector())
        span.attributes["messaging.system"] = "kafka"
        span.attributes["messaging.operation.type"] = "send"
        span.attributes["messaging.destination.name"] = record.topic
        do {
            let metadata = try await base.send(traced)
            span.attributes["messaging.destination.partition.id"] = String(metadata.partition)
            span.attributes["messaging.kafka.message.offset"] = metadata.offset
            span.end()
            return metadata
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: error.message))
            span.end()
            throw error
        }
    }

    public func flush() async throws(ClientError) { try await base.flush() }
    public func close() async { await base.close() }
}

/// Consumer-side tracing: a `consumer` span (`<topic> process`) per record whose parent is the
/// producer span named by the record's `traceparent` header (a new trace when there is none or
/// it is malformed). The handler runs with the span as `InstrumentationContext.current`, so the
/// records it produces through a `TracingProducer` continue the trace.
public struct ProcessingTracing: Sendable {
    let tracer: any Tracer
    /// The consumer group, recorded as `messaging.consumer.group.name`.
    public let group: String?

    public init(tracer: (any Tracer)? = nil, group: String? = nil) {
        self.tracer = tracer ?? InstrumentationSystem.tracer
        self.group = group
    }

    /// `handler`, each call inside a process span.
    public func instrument(_ handler: @escaping RecordHandler) -> RecordHandler {
        { record in try await self.withProcessSpan(record) { try await handler(record) } }
    }

    /// Runs `body` inside the process span of `record`; a thrown error marks the span failed.
    public func withProcessSpan<T>(_ record: ConsumerRecord, _ body: () async throws -> T) async throws -> T {
        var context = InstrumentationContext.topLevel
        tracer.extract(record.headers, into: &context, using: RecordHeadersExtractor())
        let span = tracer.startSpan("\(record.topic) process", context: context, ofKind: .consumer,
                                    at: DefaultTracerClock.now, function: #function, file: #fileID, line: #line)
        span.attributes["messaging.system"] = "kafka"
        span.attributes["messaging.operation.type"] = "process"
        span.attributes["messaging.destination.name"] = record.topic
        span.attributes["messaging.destination.partition.id"] = String(record.partition)
        span.attributes["messaging.kafka.message.offset"] = record.offset
        if let group { span.attributes["messaging.consumer.group.name"] = group }
        do {
            let value = try await InstrumentationContext.withValue(span.context) { try await body() }
            span.end()
            return value
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: String(describing: error)))
            span.end()
            throw error
        }
    }
}
