import Foundation
import Synchronization
public import Tracing

/// A finished span as `RecordingTracer` records it: ids in W3C hex, times in nanoseconds since
/// the epoch, attributes as text. Codable; `JSONLinesSpanSink` writes one per line.
public struct FinishedSpan: Sendable, Codable, Hashable {
    public var traceId: String
    public var spanId: String
    /// The parent span's id: a local parent, or the remote one a `traceparent` header named.
    public var parentSpanId: String?
    public var name: String
    /// `internal`, `server`, `client`, `producer` or `consumer`.
    public var kind: String
    public var startNanos: UInt64
    public var endNanos: UInt64
    /// `unset`, `ok` or `error`.
    public var status: String
    public var statusMessage: String?
    public var attributes: [String: String]
    public var events: [String]
    public var errors: [String]
    /// Span ids of linked spans.
    public var links: [String]

    public var durationNanos: UInt64 { endNanos >= startNanos ? endNanos - startNanos : 0 }
}

/// Where `RecordingTracer` sends finished spans.
public protocol SpanSink: Sendable {
    func record(_ span: FinishedSpan)
}

/// Keeps finished spans in memory (tests, examples, a debug endpoint).
public final class InMemorySpanSink: SpanSink {
    let _spans = Mutex<[FinishedSpan]>([])

    public init() {}

    public func record(_ span: FinishedSpan) { _spans.withLock { $0.append(span) } }

    /// The spans finished so far, in the order they ended.
    public var spans: [FinishedSpan] { _spans.withLock { $0 } }

    /// Returns and forgets the finished spans.
    public func drain() -> [FinishedSpan] { _spans.withLock { s in defer { s = [] }; return s } }
}

/// Writes each finished span as one JSON object per line (keys sorted).
public struct JSONLinesSpanSink: SpanSink {
    let sink: JSONLogSink

    public init(_ sink: JSONLogSink) { self.sink = sink }

    public func record(_ span: FinishedSpan) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(span) else { return }
        sink._write(String(decoding: data, as: UTF8.self))
    }
}

/// A small in-process `Tracer` that records finished spans to a `SpanSink`, with W3C Trace
/// Context ids and propagation (`W3CTraceContextPropagator`). swift-distributed-tracing defines
/// the API but ships no tracer; this one lets tests, examples and `--trace`-style tooling see
/// spans and their parent/child links without a collector. For production export, bootstrap an
/// OpenTelemetry tracer instead: the wrappers (`TracingProducer`, `ProcessingTracing`) only use
/// the `Tracer` API.
///
/// Every span is recorded (sampling is the caller's `traceparent` flag, carried through).
public struct RecordingTracer: Tracer {
    public typealias Span = RecordingSpan

    public let sink: any SpanSink
    let propagator = W3CTraceContextPropagator()

    public init(sink: any SpanSink) { self.sink = sink }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> InstrumentationContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> RecordingSpan {
        var ctx = context()
        let parent = ctx.traceParent
        let own = parent?.with(spanId: TraceParent.randomSpanId()) ?? TraceParent.random()
        ctx.traceParent = own
        return RecordingSpan(name: operationName, kind: kind, context: ctx, parentSpanId: parent?.spanId,
                             start: instant().nanosecondsSinceEpoch, sink: sink)
    }

    public func forceFlush() {}

    public func extract<Carrier, Extract>(_ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract)
    where Extract: Extractor, Extract.Carrier == Carrier {
        propagator.extract(carrier, into: &context, using: extractor)
    }

    public func inject<Carrier, Inject>(_ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject)
    where Inject: Injector, Inject.Carrier == Carrier {
        propagator.inject(context, into: &carrier, using: injector)
    }
}

/// A span of `RecordingTracer`; it goes to the sink once, on its first `end`.
public final class RecordingSpan: Tracing.Span {
    struct _State {
        var name: String
        var attributes: SpanAttributes = [:]
        var status: SpanStatus?
        var events: [String] = []
        var errors: [String] = []
        var links: [String] = []
        var ended = false
    }

    public let context: InstrumentationContext
    let kind: SpanKind
    let parentSpanId: UInt64?
    let start: UInt64
    let sink: any SpanSink
    let _state: Mutex<_State>

    init(name: String, kind: SpanKind, context: InstrumentationContext, parentSpanId: UInt64?, start: UInt64, sink: any SpanSink) {
        self.context = context
        self.kind = kind
        self.parentSpanId = parentSpanId
        self.start = start
        self.sink = sink
        self._state = Mutex(_State(name: name))
    }

    public var operationName: String {
        get { _state.withLock { $0.name } }
        set { _state.withLock { $0.name = newValue } }
    }

    public var attributes: SpanAttributes {
        get { _state.withLock { $0.attributes } }
        set { _state.withLock { $0.attributes = newValue } }
    }

    public var isRecording: Bool { _state.withLock { !$0.ended } }

    public func setStatus(_ status: SpanStatus) { _state.withLock { $0.status = status } }

    public func addEvent(_ event: SpanEvent) { _state.withLock { $0.events.append(event.name) } }

    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        _state.withLock { $0.errors.append(String(describing: error)) }
    }

    public func addLink(_ link: SpanLink) {
        if let id = link.context.traceParent?.spanIdHex { _state.withLock { $0.links.append(id) } }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let end = instant().nanosecondsSinceEpoch
        guard let s = _state.withLock({ s -> _State? in
            if s.ended { return nil }
            s.ended = true
            return s
        }) else { return }
        let tp = context.traceParent!
        var attributes: [String: String] = [:]
        s.attributes.forEach { key, value in attributes[key] = Self._text(value) }
        let status: String = switch s.status?.code {
        case .ok: "ok"
        case .error: "error"
        default: "unset"
        }
        sink.record(FinishedSpan(traceId: tp.traceIdHex, spanId: tp.spanIdHex, parentSpanId: parentSpanId.map { TraceParent._hex($0, 16) },
                                 name: s.name, kind: Self._kind(kind), startNanos: start, endNanos: end, status: status,
                                 statusMessage: s.status?.message, attributes: attributes, events: s.events, errors: s.errors, links: s.links))
    }

    static func _kind(_ kind: SpanKind) -> String {
        switch kind {
        case .server: "server"
        case .client: "client"
        case .producer: "producer"
        case .consumer: "consumer"
        default: "internal"
        }
    }

    static func _text(_ a: SpanAttribute) -> String {
        switch a {
        case .string(let v): v
        case .int64(let v): String(v)
        case .int32(let v): String(v)
        case .double(let v): String(v)
        case .bool(let v): String(v)
        case .stringConvertible(let v): v.description
        default: String(describing: a)
        }
    }
}
