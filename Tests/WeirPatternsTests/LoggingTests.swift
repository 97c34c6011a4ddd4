import Foundation
import Logging
import Synchronization
import Testing
import WeirClient
import WeirFormat
@testable import WeirPatterns

@Suite struct LoggingTests {
    func capture() -> (JSONLogSink, @Sendable () -> [[String: Any]]) {
        let lines = Locked<[String]>([])
        let sink = JSONLogSink { line in lines.withLock { $0.append(line) } }
        return (sink, {
            lines.withLock { $0 }.map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? ["unparsed": $0] }
        })
    }

    @Test func writesOneFlatJSONObjectPerLine() throws {
        let (sink, read) = capture()
        var logger = Logger(label: "orders") { JSONLogHandler(label: $0, sink: sink, logLevel: .info, metadataProvider: nil) }
        logger[metadataKey: "service"] = "billing"
        logger.debug("dropped")
        logger.info("hello \"world\"\n", metadata: ["nested": ["a": "1", "b": ["c": .stringConvertible(2)]], "message": "clash",
                                                   "list": ["x", .stringConvertible(true)], "ratio": .stringConvertible(0.5)])
        struct Failure: Error, CustomStringConvertible { var description: String { "it broke" } }
        logger.error("failed", error: Failure())
        let objects = read()
        #expect(objects.count == 2)
        let o = objects[0]
        #expect(o["level"] as? String == "info")
        #expect(o["label"] as? String == "orders")
        #expect(o["message"] as? String == "hello \"world\"\n")
        #expect(o["service"] as? String == "billing")
        #expect(o["nested.a"] as? String == "1")
        #expect(o["nested.b.c"] as? Int == 2)
        #expect(o["metadata.message"] as? String == "clash")
        #expect((o["list"] as? [Any])?.count == 2)
        #expect(o["ratio"] as? Double == 0.5)
        let ts = try #require(o["timestamp"] as? String)
        #expect(ts.count == 24 && ts.hasSuffix("Z"))
        #expect(objects[1]["error"] as? String == "it broke")
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 1_700_000_000.123)) == "2023-11-14T22:13:20.123Z")
    }

    @Test func consumedRecordContextIsLogged() throws {
        let (sink, read) = capture()
        let logger = Logger(label: "consumer") { JSONLogHandler(label: $0, sink: sink, metadataProvider: nil) }
        let tp = TraceParent(traceIdHigh: 0xabc, traceIdLow: 1, spanId: 0xdef)
        let text = ConsumerRecord(topic: "orders", partition: 2, offset: 41, timestamp: 1_700_000_000_000, key: Array("order-1".utf8),
                                  value: nil, headers: [RecordHeader(key: "traceparent", value: Array(tp.description.utf8))])
        logger.logConsumed(text, group: "billing", processingTime: .microseconds(1500))
        let binary = ConsumerRecord(topic: "orders", partition: 0, offset: 1, timestamp: 0, key: [0, 1, 2], value: nil, headers: [])
        logger.logConsumed(binary, error: ClientError(.log, "bad"))
        let objects = read()
        #expect(objects[0]["topic"] as? String == "orders")
        #expect(objects[0]["partition"] as? Int == 2)
        #expect(objects[0]["offset"] as? Int == 41)
        #expect(objects[0]["record_timestamp"] as? Int == 1_700_000_000_000)
        #expect(objects[0]["key"] as? String == "order-1")
        #expect(objects[0]["group"] as? String == "billing")
        #expect(objects[0]["processing_ms"] as? Double == 1.5)
        #expect(objects[0]["trace_id"] as? String == tp.traceIdHex)
        #expect(objects[0]["span_id"] as? String == tp.spanIdHex)
        #expect(objects[0]["level"] as? String == "info")
        #expect(objects[1]["key_base64"] as? String == "AAEC")
        #expect(objects[1]["level"] as? String == "error")
        #expect(objects[1]["error"] != nil)
    }

    @Test func fileSinkAppendsAndReportsUnwritablePaths() throws {
        #expect(throws: ObservabilityError.self) { try JSONLogSink.file("/nonexistent-dir/log.jsonl") }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-log-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try JSONLogSink.file(path)
        let logger = Logger(label: "f") { JSONLogHandler(label: $0, sink: sink, metadataProvider: nil) }
        logger.info("one")
        logger.info("two")
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 2)
    }
}
