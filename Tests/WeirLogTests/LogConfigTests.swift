import Foundation
import Testing
@testable import WeirLog

@Suite struct LogConfigTests {
    @Test func defaultsAreKafkas() {
        let c = LogConfig()
        #expect(c.segmentBytes == 1_073_741_824)
        #expect(c.segmentIndexBytes == 10_485_760)
        #expect(c.indexIntervalBytes == 4096)
        #expect(c.retentionMs == 604_800_000)
        #expect(c.retentionBytes == -1)
        #expect(c.cleanupPolicy == .delete)
        #expect(c.deleteRetentionMs == 86_400_000)
        #expect(c.flushMessages == .max && c.flushMs == .max)
        #expect(c.maxMessageBytes == 1_048_588)
        #expect(c.properties["segment.bytes"] == "1073741824")
        #expect(c.overrides.isEmpty)
    }

    @Test func parsesKafkaProperties() throws {
        let c = try LogConfig(properties: [
            "segment.bytes": "1048576", "cleanup.policy": "compact,delete", "retention.ms": "-1",
            "flush.messages": "1", "compression.type": "zstd", "index.interval.bytes": " 128 ",
        ])
        #expect(c.segmentBytes == 1 << 20)
        #expect(c.cleanupPolicy == [.compact, .delete])
        #expect(c.retentionMs == -1)
        #expect(c.flushMessages == 1)
        #expect(c.compressionType == .zstd)
        #expect(c.indexIntervalBytes == 128)
        #expect(try LogConfig(properties: c.properties) == c)
    }

    @Test(arguments: [
        ("segment.bytes", "13", "14...2147483647"),
        ("segment.bytes", "lots", "14...2147483647"),
        ("retention.ms", "-2", "-1..."),
        ("flush.messages", "0", "1..."),
        ("segment.index.bytes", "4", "12..."),
        ("max.message.bytes", "-5", "0..."),
    ])
    func outOfRangeValuesNameTheKeyAndTheRange(key: String, value: String, range: String) {
        do throws(LogError) {
            _ = try LogConfig(properties: [key: value])
            Issue.record("accepted \(key)=\(value)")
        } catch {
            #expect(error.code == .invalidConfig)
            #expect(error.message.contains(key))
            #expect(error.message.contains(range))
        }
    }

    @Test func unknownKeysAndBadEnumsAreErrors() {
        for (k, v) in [("segment.byte", "1"), ("cleanup.policy", "shred"), ("compression.type", "brotli"), ("cleanup.policy", "")] {
            do throws(LogError) {
                _ = try LogConfig(properties: [k: v])
                Issue.record("accepted \(k)=\(v)")
            } catch {
                #expect(error.code == .invalidConfig)
                #expect(error.message.contains(k))
            }
        }
    }

    @Test func topicConfigsPersistAndAlter() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        var config = try LogConfig(properties: ["segment.bytes": "65536", "cleanup.policy": "compact"])
        try dir.createTopic("t", partitions: 2, config: config)
        config.retentionMs = 1000
        try dir.alterTopicConfig("t", config)
        #expect(try dir.partition("t", 1).config == config)
        try dir.close()
        let text = try String(contentsOfFile: tmp.path + "/.topics/t.properties", encoding: .utf8)
        #expect(text.contains("segment.bytes=65536"))
        #expect(text.contains("partitions=2"))
        let again = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(try again.topicConfig("t") == config)
        try again.close()
    }
}

@Suite struct LogConfigPreallocateTests {
    /// `preallocate` is Kafka's topic property: a boolean, false by default.
    @Test func preallocateIsABooleanOffByDefault() throws {
        #expect(LogConfig().preallocate == false)
        #expect(try LogConfig(properties: ["preallocate": "true"]).preallocate)
        #expect(try LogConfig(properties: ["preallocate": "true"]).overrides == ["preallocate": "true"])
        #expect(throws: LogError.self) { try LogConfig(properties: ["preallocate": "yes"]) }
    }
}
