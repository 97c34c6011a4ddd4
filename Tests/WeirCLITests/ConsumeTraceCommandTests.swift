import Foundation
import Testing
import WeirClient
import WeirFormat
import WeirLog
@testable import WeirCLI
import WeirTestSupport

/// `weir consume --trace`: each record's W3C trace context in the output, and a process span per
/// record in `--trace-output`.
@Suite(.serialized) struct ConsumeTraceCommandTests {
    static let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    /// Topic `t` (1 partition): a record with a traceparent, one without, one with a malformed one.
    static func seeded() throws -> String {
        let dir = makeTemporaryDirectory("weircli-trace")
        let log = try LogDirectory.open(path: dir)
        try log.createTopic("t", partitions: 1, config: LogConfig(segmentBytes: 1 << 20, segmentIndexBytes: 1 << 16))
        let b = try RecordBatchBuilder(codec: .none, batchSizeLimit: 1 << 20)
        _ = b.append(timestamp: 1, key: nil, value: Array("traced".utf8), headers: [RecordHeader(key: "traceparent", value: Array(parent.utf8))])
        _ = b.append(timestamp: 2, key: nil, value: Array("plain".utf8), headers: [])
        _ = b.append(timestamp: 3, key: nil, value: Array("broken".utf8), headers: [RecordHeader(key: "traceparent", value: Array("00-zz".utf8))])
        let batch = try b.build()
        try batch.withUnsafeBytes { _ = try log.partition("t", 0).append($0) }
        try log.close()
        return dir
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func traceContextInLinesJSONAndSpans() async throws {
        let dir = try Self.seeded()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/out.txt", spans = dir + "/spans.jsonl"
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--from-beginning", "--max-messages", "3", "--trace",
                                                  "--output", out, "--log-dir", dir]) == 0)
        #expect(Self.lines(out) == ["traced\ttrace=0af7651916cd43dd8448eb211c80319c/b7ad6b7169203331", "plain\ttrace=-", "broken\ttrace=-"])

        #expect(await WeirCommand.run(arguments: ["consume", "t", "--from-beginning", "--max-messages", "3", "--json",
                                                  "--trace-output", spans, "--output", out, "--log-dir", dir]) == 0)
        let json = try Self.lines(out).map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(json.count == 3)
        let trace = try #require(json.first?["trace"] as? [String: Any])
        #expect(trace["traceparent"] as? String == Self.parent)
        #expect(trace["traceId"] as? String == "0af7651916cd43dd8448eb211c80319c")
        #expect(trace["spanId"] as? String == "b7ad6b7169203331")
        #expect(trace["sampled"] as? Bool == true)
        #expect(json[1]["trace"] is NSNull && json[2]["trace"] is NSNull)

        // One consumer span per record: the traced one continues the producer's trace.
        let recorded = try Self.lines(spans).map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(recorded.count == 3)
        #expect(recorded.allSatisfy { $0["name"] as? String == "t process" && $0["kind"] as? String == "consumer" })
        #expect(recorded[0]["traceId"] as? String == "0af7651916cd43dd8448eb211c80319c")
        #expect(recorded[0]["parentSpanId"] as? String == "b7ad6b7169203331")
        #expect(recorded[1]["parentSpanId"] == nil && recorded[1]["traceId"] as? String != "0af7651916cd43dd8448eb211c80319c")
        let attributes = try #require(recorded[0]["attributes"] as? [String: String])
        #expect(attributes["messaging.destination.name"] == "t" && attributes["messaging.kafka.message.offset"] == "0")

        // An unwritable --trace-output is a usage error.
        #expect(await WeirCommand.run(arguments: ["consume", "t", "--trace-output", dir + "/no/such/dir/spans", "--log-dir", dir]) == 2)
    }
}
