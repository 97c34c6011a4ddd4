import Foundation
import Testing
import WeirFormat
@testable import WeirLog

/// Runs `body` on a 1 MiB tmpfs mounted for the test; skipped (returns false) when mounting is
/// not permitted (not root, or no CAP_SYS_ADMIN).
func withTinyFileSystem(_ body: (String) async throws -> Void) async throws -> Bool {
    let tmp = TempDir("weirlog-full"); defer { tmp.remove() }
    func run(_ tool: String, _ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
    guard geteuid() == 0, run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", tmp.path]) == 0 else { return false }
    defer { _ = run("/bin/umount", [tmp.path]) }
    try await body(tmp.path)
    return true
}

@Suite struct LogFullDiskTests {
    @Test func aFullDiskIsATypedRetriableErrorNotASignal() async throws {
        let ran = try await withTinyFileSystem { path in
            let dir = try LogDirectory.open(path: path + "/logs", options: testOptions())
            try dir.createTopic("t", partitions: 1, config: LogConfig(segmentBytes: 256 << 10, segmentIndexBytes: 4096))
            let log = try dir.partition("t", 0)
            var failure: LogError?
            var appended = 0
            for i in 0..<2000 {
                do throws(LogError) {
                    try await log.append(makeBatch(firstSeq: i * 10, count: 10, valueSize: 200))
                    appended += 10
                } catch {
                    failure = error
                    break
                }
            }
            let e = try #require(failure, "a 1 MiB file system must fill up")
            #expect(e.code == .noSpace)
            #expect(e.isRetriable)
            // Without preallocation the append's own write hits the full disk.
            #expect(e.message.contains("fallocate") || e.message.contains("pwrite"))
            // Everything acknowledged before the failure is readable.
            #expect(try readAll(log).compactMap(sequence(of:)) == Array(0..<appended))
            #expect(log.highWatermark == Int64(appended))
            // After freeing space (retention), appends work again.
            _ = try log.deleteRecords(before: log.highWatermark)
            try await log.append(makeBatch(firstSeq: appended, count: 10, valueSize: 200))
            try? dir.close()
        }
        if !ran { print("LogFullDiskTests: skipped (cannot mount a tmpfs here)") }
    }
}
