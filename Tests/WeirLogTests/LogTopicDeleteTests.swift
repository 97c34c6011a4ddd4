import Foundation
import Testing
@testable import WeirLog

/// A topic deleted, or deleted and created again, just before a crash: the checkpoints still
/// name the old topic's offsets, and a delete may stop half-way.
@Suite struct LogTopicDeleteTests {
    /// Simulates the crash: waits for background flushes and releases the lock, as the kernel
    /// does for a killed process, without a clean close.
    func abandon(_ dir: LogDirectory) {
        for log in dir.allPartitions { log._durability.queue.sync {} }
        dir._lock.release()
    }

    /// The delete could not rewrite the checkpoints (here a directory in the way of their
    /// temporary file; in life a full disk), so they still say t-0 was flushed up to 100. The
    /// topic created again under that name must not inherit it: before, the reopen after a
    /// crash reported offsets 5..<100 of the new topic as lost (a false tail hole).
    @Test func aRecreatedTopicDoesNotInheritTheDeletedOnesRecoveryPoint() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1)
        for i in 0..<20 { try await dir.partition("t", 0).append(makeBatch(firstSeq: i * 5, count: 5)) }
        try await dir.flush()
        let blocker = tmp.path + "/" + LogDirectory.recoveryPointCheckpointFileName + ".tmp"
        try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: false)
        #expect(throws: LogError.self) { try dir.deleteTopic("t") }
        try FileManager.default.removeItem(atPath: blocker)
        #expect(dir.topicNames.isEmpty)

        try dir.createTopic("t", partitions: 1)
        let log = try dir.partition("t", 0)
        let r = try await log.append(makeBatch(firstSeq: 0, count: 5), acks: .all)
        #expect(r.baseOffset == 0)
        abandon(dir)

        let again = try LogDirectory.open(path: tmp.path, options: testOptions())
        let reopened = try again.partition("t", 0)
        #expect(reopened.damage.isEmpty, "\(reopened.damage)")
        #expect(reopened.highWatermark == 5)
        #expect(try readAll(reopened).compactMap(sequence(of:)) == Array(0..<5))
        try again.close()
        #expect(try LogInspector.verify(logDirectory: tmp.path).isValid)
    }

    /// A crash inside `deleteTopic` after the properties file and one partition folder went:
    /// the next open finishes the delete instead of adopting the folder left as a topic with
    /// the default config (whose checkpointed recovery point would also make a false hole).
    @Test func aDeleteInterruptedByACrashIsFinishedOnOpen() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 2)
        try dir.createTopic("t-x", partitions: 1)  // a topic whose name starts like t's folders
        for p: Int32 in 0..<2 { try await dir.partition("t", p).append(makeBatch(firstSeq: 0, count: 5)) }
        try await dir.partition("t-x", 0).append(makeBatch(firstSeq: 0, count: 5))
        try await dir.flush()
        abandon(dir)
        let fm = FileManager.default
        #expect(fm.createFile(atPath: LogDirectory._deletingMarker(tmp.path, "t"), contents: Data()))
        try fm.removeItem(atPath: tmp.path + "/.topics/t.properties")
        try fm.removeItem(atPath: tmp.path + "/t-1")

        let again = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(again.topicNames == ["t-x"], "the folder t-0 is not adopted")
        #expect(again.recovery.messages.contains { $0.contains("finished deleting topic 't'") && $0.contains("t-0") },
                "\(again.recovery.messages)")
        #expect(!fm.fileExists(atPath: tmp.path + "/t-0"))
        #expect(!fm.fileExists(atPath: LogDirectory._deletingMarker(tmp.path, "t")))
        #expect(try again.partition("t-x", 0).highWatermark == 5)
        try again.createTopic("t", partitions: 1)
        #expect(try again.partition("t", 0).highWatermark == 0)
        try again.close()
        let third = try LogDirectory.open(path: tmp.path, options: testOptions())
        #expect(third.topicNames == ["t", "t-x"])
        try third.close()
    }

    /// A finished delete leaves no marker, and its folders and checkpoint entries are gone.
    @Test func aFinishedDeleteLeavesNothing() async throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 2)
        try await dir.partition("t", 1).append(makeBatch(firstSeq: 0, count: 5))
        try dir.deleteTopic("t")
        try dir.close()
        let names = try FileManager.default.contentsOfDirectory(atPath: tmp.path + "/.topics")
        #expect(names.isEmpty, "\(names)")
        let checkpoint = try String(contentsOfFile: tmp.path + "/" + LogDirectory.recoveryPointCheckpointFileName, encoding: .utf8)
        #expect(!checkpoint.contains("t "))
    }
}
