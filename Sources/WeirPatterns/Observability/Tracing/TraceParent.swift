public import Instrumentation

/// A W3C Trace Context `traceparent` value: `VERSION-TRACEID-PARENTID-FLAGS`, e.g.
/// `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`.
///
/// Parsing follows the W3C rules: lowercase hex only; version `ff` is invalid; version `00` is
/// exactly 55 characters; a later version may append `-…` fields, which are ignored; the trace
/// id and the parent id must not be all zeros. Formatting always writes version `00`.
public struct TraceParent: Sendable, Hashable, CustomStringConvertible {
    /// The record header (and HTTP header) name.
    public static let headerName = "traceparent"
    /// The companion vendor header, carried through unchanged.
    public static let stateHeaderName = "tracestate"

    /// The 16-byte trace id, high and low halves.
    public var traceIdHigh: UInt64
    public var traceIdLow: UInt64
    /// The 8-byte id of the span that is the parent of the receiver's spans.
    public var spanId: UInt64
    /// Trace flags; bit 0 is `sampled`.
    public var flags: UInt8

    public init(traceIdHigh: UInt64, traceIdLow: UInt64, spanId: UInt64, flags: UInt8 = 1) {
        self.traceIdHigh = traceIdHigh
        self.traceIdLow = traceIdLow
        self.spanId = spanId
        self.flags = flags
    }

    /// A new trace with random, non-zero ids.
    public static func random(sampled: Bool = true) -> TraceParent {
        TraceParent(traceIdHigh: UInt64.random(in: 1...UInt64.max), traceIdLow: UInt64.random(in: 0...UInt64.max),
                     spanId: randomSpanId(), flags: sampled ? 1 : 0)
    }

    /// A random, non-zero span id.
    public static func randomSpanId() -> UInt64 { UInt64.random(in: 1...UInt64.max) }

    /// Whether the caller sampled (recorded) the trace.
    public var isSampled: Bool { flags & 1 == 1 }

    /// The trace id as 32 lowercase hex digits.
    public var traceIdHex: String { Self._hex(traceIdHigh, 16) + Self._hex(traceIdLow, 16) }
    /// The span id as 16 lowercase hex digits.
    public var spanIdHex: String { Self._hex(spanId, 16) }

    /// The `00-…` header value.
    public var description: String { "00-\(traceIdHex)-\(spanIdHex)-\(Self._hex(UInt64(flags), 2))" }

    /// The same trace with another parent span id.
    public func with(spanId: UInt64) -> TraceParent {
        TraceParent(traceIdHigh: traceIdHigh, traceIdLow: traceIdLow, spanId: spanId, flags: flags)
    }

    /// Parses a header value, rejecting every malformed form.
    public init(parsing text: String) throws(ObservabilityError) {
        let b = Array(text.utf8)
        func fail(_ why: String) -> ObservabilityError {
            ObservabilityError(.malformedTraceParent, "traceparent '\(text)' is malformed: \(why); expected 00-<32 hex>-<16 hex>-<2 hex> in lowercase.")
        }
        guard b.count >= 55 else { throw fail("it has \(b.count) characters, fewer than 55") }
        guard let version = Self._parseHex(b[0..<2]) else { throw fail("the version is not 2 lowercase hex digits") }
        if version == 0xff { throw fail("version ff is forbidden") }
        if version == 0 && b.count != 55 { throw fail("version 00 must be exactly 55 characters, not \(b.count)") }
        if version != 0 && b.count > 55 && b[55] != UInt8(ascii: "-") { throw fail("a field after the flags must start with '-'") }
        guard b[2] == UInt8(ascii: "-"), b[35] == UInt8(ascii: "-"), b[52] == UInt8(ascii: "-") else { throw fail("the fields are not separated by '-'") }
        guard let hi = Self._parseHex(b[3..<19]), let lo = Self._parseHex(b[19..<35]) else { throw fail("the trace id is not 32 lowercase hex digits") }
        guard hi != 0 || lo != 0 else { throw fail("the trace id is all zeros") }
        guard let span = Self._parseHex(b[36..<52]) else { throw fail("the parent id is not 16 lowercase hex digits") }
        guard span != 0 else { throw fail("the parent id is all zeros") }
        guard let flags = Self._parseHex(b[53..<55]) else { throw fail("the flags are not 2 lowercase hex digits") }
        self.init(traceIdHigh: hi, traceIdLow: lo, spanId: span, flags: UInt8(flags))
    }

    static func _parseHex(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        var v: UInt64 = 0
        for c in bytes {
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            default: return nil
            }
            v = v << 4 | UInt64(d)
        }
        return v
    }

    static func _hex(_ v: UInt64, _ digits: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}

enum _TraceParentKey: InstrumentationContextKey {
    typealias Value = TraceParent
    static var nameOverride: String? { "traceparent" }
}

enum _TraceStateKey: InstrumentationContextKey {
    typealias Value = String
    static var nameOverride: String? { "tracestate" }
}

extension InstrumentationContext {
    /// The W3C trace context of the current span (or of the remote parent after `extract`).
    public var traceParent: TraceParent? {
        get { self[_TraceParentKey.self] }
        set { self[_TraceParentKey.self] = newValue }
    }

    /// The W3C `tracestate` that travels with `traceParent`.
    public var traceState: String? {
        get { self[_TraceStateKey.self] }
        set { self[_TraceStateKey.self] = newValue }
    }
}

/// Injects and extracts W3C `traceparent` / `tracestate` into and from any carrier (record
/// headers with `RecordHeadersInjector` / `RecordHeadersExtractor`). A malformed incoming
/// `traceparent` is ignored, as the W3C specification requires: the receiver starts a new trace.
///
/// `RecordingTracer` uses it; combine it with another tracer through `MultiplexInstrument`.
public struct W3CTraceContextPropagator: Instrument {
    public init() {}

    public func extract<Carrier, Extract>(_ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract)
    where Extract: Extractor, Extract.Carrier == Carrier {
        guard let value = extractor.extract(key: TraceParent.headerName, from: carrier),
              let parent = try? TraceParent(parsing: value) else { return }
        context.traceParent = parent
        if let state = extractor.extract(key: TraceParent.stateHeaderName, from: carrier) { context.traceState = state }
    }

    public func inject<Carrier, Inject>(_ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject)
    where Inject: Injector, Inject.Carrier == Carrier {
        guard let parent = context.traceParent else { return }
        injector.inject(parent.description, forKey: TraceParent.headerName, into: &carrier)
        if let state = context.traceState { injector.inject(state, forKey: TraceParent.stateHeaderName, into: &carrier) }
    }
}
