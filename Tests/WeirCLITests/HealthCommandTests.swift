import Foundation
import Testing
import WeirClient
import WeirLog
@testable import WeirCLI

/// A closed log directory with topic `t` (1 partition, 10 records) and group `g` committed at 4.
func observedLogDirectory() async throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weircli-obs-\(UUID().uuidString)").path
    let log = try LogDirectory.open(path: dir, options: LogDirectory.Options(maintenanceIntervalMs: nil))
    let client = EmbeddedMessaging(logDirectory: log)
    try await client.ensureTopic("t", partitions: 1, configs: [:])
    let producer = try await client.makeProducer(properties: [:])
    for i in 0..<10 { _ = try await producer.send(ProducerRecord(topic: "t", partition: 0, key: nil, value: "v\(i)")) }
    await producer.close()
    try GroupCoordinator.shared(for: log).commitOffsets(groupId: "g", [TopicPartition("t", 0): OffsetAndMetadata(offset: 4)])
    try log.close()
    return dir
}

/// One capture of standard output at a time (file descriptor 1 is process-wide).
actor CaptureLock {
    static let shared = CaptureLock()
    var busy = false
    var waiters: [CheckedContinuation<Void, Never>] = []
    func acquire() async {
        if !busy { busy = true; return }
        await withCheckedContinuation { waiters.append($0) }
    }
    func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}

/// The first line of `text` that is a JSON object (with `key`, when given: other suites may
/// print JSON lines meanwhile).
func jsonLine(_ text: String, withKey key: String? = nil) -> [String: Any]? {
    for line in text.split(separator: "\n") where line.hasPrefix("{") {
        if let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], key.map({ o[$0] != nil }) ?? true { return o }
    }
    return nil
}

/// Runs `weir ARGS`, capturing standard output (or, with `fd` 2, standard error) into a string.
/// Other suites that print at the same time may add lines to it.
func runCapturing(_ args: [String], fd target: Int32 = 1) async -> (code: Int32, output: String) {
    await CaptureLock.shared.acquire()
    defer { Task { await CaptureLock.shared.release() } }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("weircli-out-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    fflush(nil)
    let saved = dup(target)
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    dup2(fd, target)
    close(fd)
    let code = await WeirCommand.run(arguments: args)
    fflush(nil)
    dup2(saved, target)
    close(saved)
    return (code, (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
}

@Suite(.serialized) struct HealthCommandTests {
    @Test func healthyDirectoryExitsZeroAndPrintsJSON() async throws {
        let dir = try await observedLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (code, out) = await runCapturing(["health", "--json", "--log-dir", dir])
        #expect(code == 0)
        let report = try #require(jsonLine(out, withKey: "checks"), "\(out)")
        #expect(report["status"] as? String == "healthy")
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.compactMap { $0["name"] as? String } == ["logDirectory.lock", "logDirectory.writable", "logDirectory.diskSpace",
                                                               "logDirectory.segments", "logDirectory.recovery", "group.g"])
        let group = try #require(checks.last?["details"] as? [String: String])
        #expect(group["totalLag"] == "6")
        let (textCode, text) = await runCapturing(["health", "--log-dir", dir])
        #expect(textCode == 0)
        #expect(text.contains("overall: healthy"))
    }

    @Test func unhealthyExitsOneAndUsageErrorsTwo() async throws {
        let dir = try await observedLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (code, out) = await runCapturing(["health", "--max-lag", "5", "--log-dir", dir])
        #expect(code == 1)
        #expect(out.contains("unhealthy group.g"))
        #expect(await runCapturing(["health", "--min-free-mb", "999999999999", "--no-verify", "--log-dir", dir]).code == 1)
        #expect(await runCapturing(["health", "--log-dir", dir + "/missing"]).code == 1)
        #expect(await WeirCommand.run(arguments: ["health", "--max-lag", "-1", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["health", "--bogus"]) == 2)
    }

    @Test func aDirectoryInUseIsReportedWithItsOwner() async throws {
        let dir = try await observedLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try LogDirectory.open(path: dir, options: LogDirectory.Options(maintenanceIntervalMs: nil))
        let (code, out) = await runCapturing(["health", "--json", "--log-dir", dir])
        try log.close()
        #expect(code == 0, "\(out)")
        #expect(out.contains("in use by process \(getpid())"))
        #expect(out.contains("\"name\":\"groups\""))
        #expect(out.contains("\"status\":\"degraded\""))
    }

    @Test func lagExitsOneWhenCriticalAndPrintsJSON() async throws {
        let dir = try await observedLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var (code, out) = await runCapturing(["lag", "g", "--warn", "3", "--critical", "10", "--log-dir", dir])
        #expect(code == 0)
        #expect(out.contains("t      0          4               10              6    warning"))
        #expect(out.contains("total lag 6 (ok); group g: warning"))
        (code, out) = await runCapturing(["lag", "g", "--critical-total", "6", "--json", "--log-dir", dir])
        #expect(code == 1)
        let snap = try #require(jsonLine(out, withKey: "totalLevel"), "\(out)")
        #expect(snap["totalLag"] as? Int == 6)
        #expect(snap["totalLevel"] as? String == "critical")
        #expect(snap["level"] as? String == "critical")
        #expect(await WeirCommand.run(arguments: ["lag", "g", "--warn", "10", "--critical", "3", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["lag", "nobody", "--log-dir", dir]) == 1)
        #expect(await WeirCommand.run(arguments: ["lag", "g", "--topic", "missing", "--log-dir", dir]) == 1)
    }

    @Test func observabilityExamplesRun() async throws {
        var (code, out) = await runCapturing(["example", "graceful-shutdown"])
        #expect(code == 0)
        #expect(out.contains("every job exactly once: nothing lost, nothing repeated"), "\(out)")
        (code, out) = await runCapturing(["example", "observability"])
        #expect(code == 0)
        #expect(out.contains("observability.orders process"))
        #expect(out.contains("alert group billing total lag 6: ok → warning"))
        #expect(out.contains("alert group billing total lag 0: warning → ok (recovered)"))
        #expect(out.contains("overall: healthy"), "\(out)")
    }
}
