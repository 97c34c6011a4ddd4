import Foundation
import Testing
@testable import WeirLog

/// A crash inside `createTopic` (found by `scripts/crash-campaign 100 --seed 1616`, trial 93: the
/// writer was killed after `crash-0` was made, and the next open adopted `crash` as a topic of
/// 1 partition with the default config, so the writer's partition 1 "did not exist").
@Suite struct LogHalfMadeTopicTests {
    /// The files a create of `t` with 4 partitions leaves when killed after its first partition.
    func halfMade(_ path: String) throws {
        let dir = try LogDirectory.open(path: path, options: testOptions())
        var config = smallConfig()
        config.cleanupPolicy = .compact
        try dir.createTopic("t", partitions: 4, config: config)
        try dir.createTopic("t-x", partitions: 1)  // a topic whose name starts like t's folders
        try dir.close()
        let fm = FileManager.default
        for p in 1..<4 { try fm.removeItem(atPath: path + "/t-\(p)") }
        try fm.removeItem(atPath: path + "/.topics/t.properties")
        #expect(fm.createFile(atPath: LogDirectory._creatingMarker(path, "t"), contents: Data("partitions=4\n".utf8)))
    }

    @Test func aCreateInterruptedByACrashLeavesNoTopic() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        try halfMade(tmp.path)
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(dir.topicNames == ["t-x"], "not adopted as a 1-partition topic with the default config")
        #expect(dir.recovery.messages.contains { $0.contains("half-made topic 't'") && $0.contains("t-0") })
        #expect(!FileManager.default.fileExists(atPath: tmp.path + "/t-0"))
        #expect(!FileManager.default.fileExists(atPath: LogDirectory._creatingMarker(tmp.path, "t")))
        // Creating it again gives the whole topic.
        try dir.createTopic("t", partitions: 4)
        #expect(try dir.partitionCount("t") == 4)
        try await dir.partition("t", 3).append(makeBatch(firstSeq: 0, count: 3))
        try dir.close()
        let again = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(again.topicNames == ["t", "t-x"])
        #expect(try again.partitionCount("t") == 4)
        try again.close()
    }

    @Test func aMarkerLeftAfterTheCreateFinishedOnlyGoes() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 2)
        #expect(!FileManager.default.fileExists(atPath: LogDirectory._creatingMarker(tmp.path, "t")), "a finished create removes its marker")
        try dir.close()
        #expect(FileManager.default.createFile(atPath: LogDirectory._creatingMarker(tmp.path, "t"), contents: Data()))
        let again = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(again.topicNames == ["t"])
        #expect(try again.partitionCount("t") == 2)
        #expect(!FileManager.default.fileExists(atPath: LogDirectory._creatingMarker(tmp.path, "t")))
        try again.close()
    }
}
