import Foundation
import Synchronization
import Testing
import WeirClient
import WeirLog
@testable import WeirCLI

@Suite(.serialized) struct MetricsCommandTests {
    @Test func onceAndOutputWriteOneExposition() async throws {
        let dir = try await observedLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (code, out) = await runCapturing(["metrics", "--once", "--log-dir", dir])
        #expect(code == 0)
        #expect(out.contains("weir_log_end_offset{topic=\"t\",partition=\"0\"} 10"))
        #expect(out.contains("weir_consumer_lag{group=\"g\",topic=\"t\",partition=\"0\"} 6"))
        #expect(out.contains("weir_log_directory_in_use 0"))
        let file = dir + "/metrics.prom"
        #expect(await WeirCommand.run(arguments: ["metrics", "--output", file, "--log-dir", dir]) == 0)
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains("weir_consumer_group_lag{group=\"g\"} 6"))
        // Owned by another open: file-level metrics only.
        let log = try LogDirectory.open(path: dir, options: LogDirectory.Options(maintenanceIntervalMs: nil))
        let (busyCode, busy) = await runCapturing(["metrics", "--log-dir", dir])
        try log.close()
        #expect(busyCode == 0)
        #expect(busy.contains("weir_log_directory_in_use 1"))
        #expect(!busy.contains("weir_log_end_offset"))
    }

    @Test func usageAndFailureExitCodes() async throws {
        let dir = try await observedLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await WeirCommand.run(arguments: ["metrics", "--listen", "127.0.0.1:0", "--once", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["metrics", "--listen", "nowhere", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["metrics", "--log-dir", dir + "/missing"]) == 1)
        #expect(await WeirCommand.run(arguments: ["metrics", "--output", "/nonexistent-dir/m.prom", "--log-dir", dir]) == 1)
    }
}

/// The `weir` executable next to the test bundle (built by `swift build`), or nil.
func weirExecutable() -> String? {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path = root.appendingPathComponent(".build/debug/weir").path
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}

/// Real signals to a child `weir` process: it must stop cleanly and exit 0.
@Suite(.serialized, .enabled(if: weirExecutable() != nil, "needs .build/debug/weir (swift build)"))
struct SignalShutdownTests {
    func waitFor(_ condition: () -> Bool) async throws {
        for _ in 0..<300 where !condition() { try await Task.sleep(for: .milliseconds(20)) }
    }

    @Test func consumeStopsOnSIGINTAndCommitsWhatItPrinted() async throws {
        let dir = try await observedLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: weirExecutable()!)
        p.arguments = ["consume", "t", "--group", "reader", "--from-beginning", "--log-dir", dir]
        let out = Pipe()
        p.standardOutput = out
        let printed = LockedText(collecting: out)
        try p.run()
        try await waitFor { printed.withLock { $0 }.split(separator: "\n").count == 10 }
        // No wait for the signal handlers: consume prints only once they are installed.
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        out.fileHandleForReading.readabilityHandler = nil
        #expect(printed.withLock { $0 }.split(separator: "\n").count == 10)
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        let log = try LogDirectory.open(path: dir, options: LogDirectory.Options(maintenanceIntervalMs: nil))
        defer { try? log.close() }
        #expect(log.recovery.wasCleanShutdown)
        #expect(GroupCoordinator.shared(for: log).committedOffsets(groupId: "reader")[TopicPartition("t", 0)]?.offset == 10)
    }

    @Test func metricsServerStopsOnSIGTERM() async throws {
        let dir = try await observedLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: weirExecutable()!)
        p.arguments = ["metrics", "--listen", "127.0.0.1:0", "--log-dir", dir]
        let err = Pipe()
        p.standardError = err
        let text = LockedText(collecting: err)
        try p.run()
        // SIGTERM once it serves (its handlers are installed by then); a hang guard, not a timing bound.
        let deadline = MonotonicDeadline(after: .seconds(120))
        while !text.withLock({ $0.contains("serving http://") }) && !deadline.hasPassed && p.isRunning {
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        err.fileHandleForReading.readabilityHandler = nil
        let message = text.withLock { $0 } + String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message.contains("serving http://127.0.0.1:"), "\(message)")
        #expect(!message.contains("127.0.0.1:0/"), "the bound port is printed")
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
    }
}

/// A Mutex in a class, so escaping closures can share it.
final class LockedText: Sendable {
    let mutex = Mutex("")
    func withLock<R>(_ body: (inout String) -> R) -> R { mutex.withLock { body(&$0) } }

    /// Text that collects what a child process writes to `pipe`, as it comes.
    convenience init(collecting pipe: Pipe) {
        self.init()
        pipe.fileHandleForReading.readabilityHandler = { [self] h in
            let chunk = String(decoding: h.availableData, as: UTF8.self)
            withLock { $0 += chunk }
        }
    }
}
