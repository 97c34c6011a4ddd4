public import Instrumentation
public import WeirFormat

/// Writes instrumentation values into Kafka record headers (UTF-8), replacing a header of the
/// same key.
public struct RecordHeadersInjector: Injector {
    public init() {}

    public func inject(_ value: String, forKey key: String, into carrier: inout [RecordHeader]) {
        carrier.removeAll { $0.key == key }
        carrier.append(RecordHeader(key: key, value: Array(value.utf8)))
    }
}

/// Reads instrumentation values from Kafka record headers (the last header of the key wins).
public struct RecordHeadersExtractor: Extractor {
    public init() {}

    public func extract(key: String, from carrier: [RecordHeader]) -> String? {
        guard let header = carrier.last(where: { $0.key == key }), let value = header.value else { return nil }
        return String(decoding: value, as: UTF8.self)
    }
}
