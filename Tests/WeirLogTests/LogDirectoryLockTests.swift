import Foundation
import Testing
@testable import WeirLog

@Suite struct LogDirectoryLockTests {
    @Test func secondOpenGetsATypedErrorNamingDirectoryAndPid() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let first = try LogDirectory.open(path: tmp.path, options: testOptions())
        do throws(LogError) {
            _ = try LogDirectory.open(path: tmp.path, options: testOptions())
            Issue.record("the second open succeeded")
        } catch {
            #expect(error.code == .logDirectoryLocked)
            #expect(error.message.contains(tmp.path))
            #expect(error.message.contains("process \(getpid())"))
        }
        try first.close()
    }

    @Test func anotherProcessHoldingTheLockIsReported() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        try FileManager.default.createDirectory(atPath: tmp.path, withIntermediateDirectories: true)
        // flock(1) holds the lock from another process while we try to open.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [tmp.path + "/.lock", "-c", "echo 4242 > \(tmp.path)/.lock; sleep 5"]
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/flock") else { return }
        try holder.run()
        defer { holder.terminate(); holder.waitUntilExit() }
        var error: LogError?
        for _ in 0..<100 {
            do throws(LogError) {
                let d = try LogDirectory.open(path: tmp.path, options: testOptions())
                try d.close()
                usleep(20_000)
            } catch let e {
                error = e
                if e.message.contains("4242") { break }
                usleep(20_000)
            }
        }
        let e = try #require(error)
        #expect(e.code == .logDirectoryLocked)
        #expect(e.message.contains("4242"))
    }

    /// A lock this process holds for a moment longer than the directory stays open (a child
    /// being spawned on another thread shares the descriptor until its exec) is waited for.
    @Test func anOpenWaitsBrieflyForALockThisProcessIsReleasing() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let first = try LogDirectory.open(path: tmp.path, options: testOptions())
        // A thread of its own: the open below blocks its thread while it waits.
        let closed = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            usleep(20_000)
            try? first.close()
            closed.signal()
        }
        let second = try LogDirectory.open(path: tmp.path, options: testOptions())
        closed.wait()
        try second.close()
    }

    @Test func lockIsReleasedOnClose() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        try LogDirectory.open(path: tmp.path, options: testOptions()).close()
        try LogDirectory.open(path: tmp.path, options: testOptions()).close()
    }
}
