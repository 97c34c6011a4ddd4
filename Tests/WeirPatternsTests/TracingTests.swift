import Foundation
import Synchronization
import Testing
import Tracing
import WeirClient
import WeirFormat
@testable import WeirPatterns

@Suite struct TracingTests {
    @Test func traceParentParsesAndFormats() throws {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let tp = try TraceParent(parsing: text)
        #expect(tp.traceIdHex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(tp.spanIdHex == "00f067aa0ba902b7")
        #expect(tp.isSampled)
        #expect(tp.description == text)
        #expect(try TraceParent(parsing: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").isSampled == false)
        // A later version may carry more fields; only the first four are read.
        #expect(try TraceParent(parsing: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future").spanId == 0x00f067aa0ba902b7)
        let random = TraceParent.random()
        #expect(try TraceParent(parsing: random.description) == random)
    }

    @Test(arguments: [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",            // no flags
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",       // version 00 with extra
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",         // uppercase
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",         // forbidden version
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",         // zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",         // zero parent id
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",         // separator
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",         // not hex
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z",         // flags not hex
        "02-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",        // later version, bad extra field
    ])
    func malformedTraceParentsAreRejected(_ text: String) {
        #expect(throws: ObservabilityError.self) { try TraceParent(parsing: text) }
    }

    @Test func producerAndProcessSpansLinkThroughRecordHeaders() async throws {
        let fixture = try await ObservedLog()
        defer { fixture.close() }
        let sink = InMemorySpanSink()
        let tracer = RecordingTracer(sink: sink)
        let base = try await fixture.client.makeProducer(properties: [:])
        let producer = TracingProducer(base, tracer: tracer)
        let md = try await producer.send(ProducerRecord(topic: "t", key: "k", value: "v",
                                                        headers: [RecordHeader(key: "traceparent", value: Array("stale".utf8))]))
        let consumer = try await fixture.client.makeConsumer(properties: ["group.id": "g", "auto.offset.reset": "earliest"])
        try await consumer.subscribe(topics: ["t"], listener: nil)
        var records: [ConsumerRecord] = []
        for _ in 0..<100 where records.isEmpty { records = try await consumer.poll(timeout: .milliseconds(50)) }
        let record = try #require(records.first)
        #expect(record.headers.filter { $0.key == "traceparent" }.count == 1)
        // The handler sends a follow-up record: it continues the trace.
        let processing = ProcessingTracing(tracer: tracer, group: "g")
        try await processing.withProcessSpan(record) {
            _ = try await producer.send(ProducerRecord(topic: "t", value: "follow-up"))
        }
        await consumer.close()
        await base.close()
        let spans = sink.spans
        #expect(spans.map(\.name) == ["t publish", "t publish", "t process"])
        let publish = spans[0], followUp = spans[1], process = spans[2]
        #expect(publish.parentSpanId == nil && publish.kind == "producer")
        #expect(publish.attributes["messaging.kafka.message.offset"] == String(md.offset))
        #expect(publish.attributes["messaging.destination.name"] == "t")
        #expect(process.kind == "consumer")
        #expect(process.traceId == publish.traceId && process.parentSpanId == publish.spanId)
        #expect(process.attributes["messaging.consumer.group.name"] == "g")
        #expect(followUp.traceId == publish.traceId && followUp.parentSpanId == process.spanId)
        #expect(spans.allSatisfy { $0.status == "unset" && $0.endNanos >= $0.startNanos })
    }

    @Test func malformedHeaderStartsANewTraceAndHandlerErrorsMarkTheSpan() async throws {
        let sink = InMemorySpanSink()
        let processing = ProcessingTracing(tracer: RecordingTracer(sink: sink))
        let record = ConsumerRecord(topic: "t", partition: 0, offset: 0, timestamp: 0, key: nil, value: nil,
                                    headers: [RecordHeader(key: "traceparent", value: Array("00-zz-zz-01".utf8))])
        struct Boom: Error {}
        let handler = processing.instrument { _ in throw Boom() }
        await #expect(throws: Boom.self) { try await handler(record) }
        let span = try #require(sink.spans.first)
        #expect(span.parentSpanId == nil)
        #expect(span.status == "error")
        #expect(span.errors.count == 1)
    }

    @Test func propagatorInjectsAndExtractsIntoAnyCarrier() throws {
        let propagator = W3CTraceContextPropagator()
        var context = InstrumentationContext.topLevel
        context.traceParent = TraceParent(traceIdHigh: 1, traceIdLow: 2, spanId: 3)
        context.traceState = "vendor=x"
        var headers: [RecordHeader] = [RecordHeader(key: "traceparent", value: nil)]
        propagator.inject(context, into: &headers, using: RecordHeadersInjector())
        #expect(headers.map(\.key) == ["traceparent", "tracestate"])
        var back = InstrumentationContext.topLevel
        propagator.extract(headers, into: &back, using: RecordHeadersExtractor())
        #expect(back.traceParent == context.traceParent && back.traceState == "vendor=x")
        var none = InstrumentationContext.topLevel
        propagator.extract([RecordHeader(key: "traceparent", value: Array("garbage".utf8))], into: &none, using: RecordHeadersExtractor())
        #expect(none.traceParent == nil)
    }

    @Test func jsonLinesSinkWritesOneSpanPerLine() throws {
        let lines = Locked<[String]>([])
        let tracer = RecordingTracer(sink: JSONLinesSpanSink(JSONLogSink { l in lines.withLock { $0.append(l) } }))
        tracer.withSpan("outer") { _ in tracer.withSpan("inner") { _ in } }
        let spans = try lines.withLock { $0 }.map { try JSONDecoder().decode(FinishedSpan.self, from: Data($0.utf8)) }
        #expect(spans.map(\.name) == ["inner", "outer"])
        #expect(spans[0].parentSpanId == spans[1].spanId)
    }
}
