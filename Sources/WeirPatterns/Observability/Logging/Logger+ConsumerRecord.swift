import Foundation
public import Logging
public import WeirClient

extension Logger {
    /// The context of a consumed record as log metadata: `topic`, `partition`, `offset`,
    /// `record_timestamp` (ms), `key` (UTF-8 text, or `key_base64` when it is not text), `group` and
    /// `processing_ms` when given, and `trace_id` / `span_id` when the record carries a W3C
    /// `traceparent` header — so a log line links to its trace.
    public static func consumedRecordMetadata(_ record: ConsumerRecord, group: String? = nil, processingTime: Duration? = nil) -> Logger.Metadata {
        var m: Logger.Metadata = [
            "topic": .string(record.topic),
            "partition": .stringConvertible(Int(record.partition)),
            "offset": .stringConvertible(record.offset),
            "record_timestamp": .stringConvertible(record.timestamp),
        ]
        if let key = record.key {
            if let text = String(validating: key, as: UTF8.self), !text.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                m["key"] = .string(text)
            } else {
                m["key_base64"] = .string(Data(key).base64EncodedString())
            }
        }
        if let group { m["group"] = .string(group) }
        if let processingTime {
            let (s, a) = processingTime.components
            m["processing_ms"] = .stringConvertible(Double(s) * 1000 + Double(a) / 1e15)
        }
        if let header = record.headers.last(where: { $0.key == TraceParent.headerName }), let value = header.value,
           let tp = try? TraceParent(parsing: String(decoding: value, as: UTF8.self)) {
            m["trace_id"] = .string(tp.traceIdHex)
            m["span_id"] = .string(tp.spanIdHex)
        }
        return m
    }

    /// Logs that `record` was consumed (or failed, with `error`), with its context as metadata.
    public func logConsumed(_ record: ConsumerRecord, group: String? = nil, processingTime: Duration? = nil, error: (any Error)? = nil,
                            level: Logger.Level? = nil, _ message: @autoclosure () -> Logger.Message = "record processed",
                            file: String = #fileID, function: String = #function, line: UInt = #line) {
        let metadata = Self.consumedRecordMetadata(record, group: group, processingTime: processingTime)
        log(level: level ?? (error == nil ? .info : .error), message(), error: error, metadata: metadata, file: file, function: function, line: line)
    }
}
