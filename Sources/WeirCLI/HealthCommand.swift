public import ArgumentParser
import Foundation
import WeirClient
import WeirLog
import WeirPatterns

/// `weir health`: the health of a log directory and its consumer groups.
public struct HealthCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check a log directory and its consumer groups; exit 1 when unhealthy.",
        discussion: """
            Checks, each healthy, degraded or unhealthy: logDirectory.lock (who owns the directory, \
            whether it was closed cleanly), logDirectory.writable (a probe file), logDirectory.diskSpace \
            (unhealthy below --min-free-mb, degraded below twice that), logDirectory.segments (every \
            segment's framing, CRC-32C and indexes, read-only; skip with --no-verify), and one \
            group.NAME per consumer group (members and lag; unhealthy when a partition's lag exceeds \
            --max-lag).

            The directory is owned by one process at a time. When a running application owns it, the \
            file checks still run (read-only, without the lock) and the lock check reports "in use by \
            process N"; group lag lives in that process, so the groups check is degraded ("not \
            checked") — register HealthChecks.consumerGroup in the application's HealthRegistry for it. \
            When no one owns it, the command opens it (recovering it if it was not closed cleanly) to \
            read the groups, then closes it.

            Exit codes: 0 healthy or degraded, 1 unhealthy, 2 usage errors.
            """)

    @Option(name: .customLong("max-lag"), help: "A consumer group is unhealthy when a partition's lag exceeds this many records.")
    var maxLag: Int64?
    @Option(name: .customLong("min-free-mb"), help: "Unhealthy below this much free disk (MiB), degraded below twice that (default 100).")
    var minFreeMB: Int64 = HealthChecks.defaultMinFreeBytes >> 20
    @Flag(name: .customLong("no-verify"), help: "Skip reading and checking every segment.")
    var noVerify = false
    @Flag(help: "One JSON object (the HealthReport).")
    var json = false
    @OptionGroup var dir: TopicsCommand.LogDirOption

    public init() {}

    public func run() async throws {
        if let maxLag, maxLag < 0 { throw CLIError.usage("--max-lag \(maxLag) is negative; give 0 or more.") }
        if minFreeMB < 0 { throw CLIError.usage("--min-free-mb \(minFreeMB) is negative; give 0 or more.") }
        let report = await Self.report(path: dir.logDir, maxLag: maxLag, minFreeBytes: minFreeMB << 20, verify: !noVerify)
        print(json ? report.json() : report.text)
        if report.status == .unhealthy {
            let failed = report.checks(.unhealthy).map(\.name).joined(separator: ", ")
            throw CLIError.failure("unhealthy: \(failed)")
        }
    }

    /// The report `weir health` prints.
    static func report(path: String, maxLag: Int64?, minFreeBytes: Int64, verify: Bool) async -> HealthReport {
        var checks = HealthChecks.logDirectory(path: path, minFreeBytes: minFreeBytes, verify: verify)
        if checks.contains(where: { $0.name == "logDirectory.exists" }) { return HealthReport(checks: checks) }
        switch HealthChecks.lockState(ofLogDirectory: path) {
        case .held(let pid):
            checks.append(HealthCheckResult(
                name: "groups", status: .degraded,
                message: "not checked: the log directory is in use by process \(pid), and group membership and lag live in that process; check them there (HealthChecks.consumerGroup) or after it stops.",
                details: ["pid": pid]))
        case .noLockFile:
            checks.append(HealthCheckResult(name: "groups", status: .healthy, message: "no consumer groups (the directory was never opened)"))
        case .free:
            let log: LogDirectory
            do {
                log = try LogDirectory.open(path: path, options: LogDirectory.Options(maintenanceIntervalMs: nil))
            } catch {
                let status: HealthStatus = error.code == .logDirectoryLocked ? .degraded : .unhealthy
                checks.append(HealthCheckResult(name: "logDirectory.open", status: status, message: "cannot open: \(error.message)"))
                return HealthReport(checks: checks)
            }
            checks.append(HealthChecks.recovery(log.recovery))
            let client = EmbeddedMessaging(logDirectory: log)
            let offsets = EmbeddedGroupOffsets(logDirectory: log)
            let groups = GroupCoordinator.shared(for: log).listGroups()
            if groups.isEmpty {
                checks.append(HealthCheckResult(name: "groups", status: .healthy, message: "no consumer groups"))
            }
            for g in groups {
                checks.append(await HealthChecks.consumerGroup(g, client: client, offsets: offsets, maxLag: maxLag))
            }
            do { try log.close() } catch {
                checks.append(HealthCheckResult(name: "logDirectory.close", status: .unhealthy, message: "closing failed: \(error.message)"))
            }
        }
        return HealthReport(checks: checks)
    }
}
