import Foundation
#if canImport(Glibc)
import Glibc
#endif
public import WeirClient
public import WeirLog

/// Ready-made health checks: the log directory (open or not), a consumer group's members and
/// lag. Register them in a `HealthRegistry`, or call them directly.
public enum HealthChecks {
    /// Default for `minFreeBytes`: below it the disk check is unhealthy, below twice it degraded.
    public static let defaultMinFreeBytes: Int64 = 100 << 20

    /// Who holds a log directory's lock (`<dir>/.lock`), found without taking it.
    public enum LockState: Sendable, Hashable {
        /// No process holds it.
        case free
        /// A process holds it; its pid as the lock file records it.
        case held(pid: String)
        /// There is no lock file (the directory was never opened).
        case noLockFile
    }

    /// Probes the lock of the log directory at `path` with a shared, non-blocking `flock` on a
    /// separate descriptor, released at once. An owner (this process included) holds it
    /// exclusively, so the probe fails exactly while the directory is open.
    public static func lockState(ofLogDirectory path: String) -> LockState {
        let lockPath = path + "/.lock"
        let fd = Glibc.open(lockPath, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return .noLockFile }
        defer { Glibc.close(fd) }
        var rc: Int32
        repeat { rc = flock(fd, LOCK_SH | LOCK_NB) } while rc != 0 && errno == EINTR
        if rc == 0 {
            _ = flock(fd, LOCK_UN)
            return .free
        }
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, 32, 0) }
        let pid = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
        return .held(pid: pid)
    }

    /// Free bytes for unprivileged users on the file system of `path` (`statvfs`), nil when it
    /// cannot be read.
    public static func freeBytes(atPath path: String) -> Int64? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }

    /// Disk space at `path`: unhealthy below `minFreeBytes`, degraded below twice that.
    public static func diskSpace(path: String, minFreeBytes: Int64 = defaultMinFreeBytes) -> HealthCheckResult {
        let name = "logDirectory.diskSpace"
        guard let free = freeBytes(atPath: path) else {
            return HealthCheckResult(name: name, status: .degraded, message: "cannot read the free space of \(path) (statvfs failed: \(String(cString: strerror(errno)))).")
        }
        let details = ["freeBytes": String(free), "minFreeBytes": String(minFreeBytes)]
        if free < minFreeBytes {
            return HealthCheckResult(name: name, status: .unhealthy,
                                     message: "\(_mib(free)) free, below the minimum \(_mib(minFreeBytes)); free space or lower retention.bytes / retention.ms before appends fail.",
                                     details: details)
        }
        if free < 2 * minFreeBytes {
            return HealthCheckResult(name: name, status: .degraded,
                                     message: "\(_mib(free)) free, less than twice the minimum \(_mib(minFreeBytes)); plan to free space.", details: details)
        }
        return HealthCheckResult(name: name, status: .healthy, message: "\(_mib(free)) free", details: details)
    }

    static func _mib(_ bytes: Int64) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

    /// Whether a file can be created in `path` (creates and removes a probe file).
    public static func writable(path: String) -> HealthCheckResult {
        let name = "logDirectory.writable"
        let probe = path + "/.health-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = Glibc.open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            let why = String(cString: strerror(errno))
            return HealthCheckResult(name: name, status: .unhealthy,
                                     message: "cannot create a file in \(path): \(why); check its permissions and that the file system is mounted read-write.")
        }
        let ok = Glibc.write(fd, "ok", 2) == 2
        Glibc.close(fd)
        unlink(probe)
        if !ok {
            return HealthCheckResult(name: name, status: .unhealthy, message: "cannot write to a file in \(path): \(String(cString: strerror(errno))).")
        }
        return HealthCheckResult(name: name, status: .healthy, message: "files can be created and written")
    }

    /// Checks an open log directory: that it is open, what its recovery found, that it is
    /// writable and has disk space. For in-process use (`HealthRegistry.register`).
    public static func logDirectory(_ log: LogDirectory, minFreeBytes: Int64 = defaultMinFreeBytes) -> [HealthCheckResult] {
        var out: [HealthCheckResult] = []
        let r = log.recovery
        let topics = log.topicNames
        out.append(HealthCheckResult(name: "logDirectory.open", status: .healthy,
                                     message: "\(log.path) is open with \(topics.count) topic(s), \(log.allPartitions.count) partition(s)",
                                     details: ["path": log.path, "topics": String(topics.count)]))
        out.append(recovery(r))
        out.append(writable(path: log.path))
        out.append(diskSpace(path: log.path, minFreeBytes: minFreeBytes))
        return out
    }

    /// What opening the directory recovered: healthy after a clean shutdown, degraded when the
    /// previous owner crashed (recovered) and bytes were truncated (a torn tail was dropped).
    public static func recovery(_ r: LogDirectory.RecoveryReport) -> HealthCheckResult {
        let name = "logDirectory.recovery"
        let details = ["cleanShutdown": String(r.wasCleanShutdown), "bytesTruncated": String(r.bytesTruncated)]
        if r.wasCleanShutdown {
            return HealthCheckResult(name: name, status: .healthy, message: "the previous owner shut down cleanly", details: details)
        }
        if r.bytesTruncated > 0 {
            return HealthCheckResult(name: name, status: .degraded,
                                     message: "recovered after an unclean shutdown; \(r.bytesTruncated) byte(s) of torn or corrupt tail were truncated (unacknowledged writes, or data lost with acks=1 on power loss); check the producers' delivery reports.",
                                     details: details)
        }
        return HealthCheckResult(name: name, status: .healthy,
                                 message: "no clean-shutdown marker (a new directory, or the previous owner stopped without closing it); every partition was checked, nothing was truncated",
                                 details: details)
    }

    /// Checks a log directory by path without opening it, so it works while an application owns
    /// it: existence, who holds the lock, writability, disk space, and (when `verify`) every
    /// segment's framing, CRCs and indexes with the read-only `LogInspector.verify`.
    ///
    /// Verification is skipped while a process owns the directory: its active segments are
    /// preallocated (`segment.bytes` of zeros to read) and change under the scan, so the answer
    /// would be slow and unstable. The lock check says so.
    public static func logDirectory(path: String, minFreeBytes: Int64 = defaultMinFreeBytes, verify: Bool = true) -> [HealthCheckResult] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            return [HealthCheckResult(name: "logDirectory.exists", status: .unhealthy,
                                      message: "\(path) does not exist or is not a directory; pass the right --log-dir (or $WEIR_LOG_DIR).")]
        }
        var out: [HealthCheckResult] = []
        var inUse = false
        switch lockState(ofLogDirectory: path) {
        case .free, .noLockFile:
            let clean = FileManager.default.fileExists(atPath: path + "/" + LogDirectory.cleanShutdownFileName)
            let hasData = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).contains { !$0.hasPrefix(".") }
            if clean || !hasData {
                out.append(HealthCheckResult(name: "logDirectory.lock", status: .healthy, message: "not in use; closed cleanly", details: ["inUse": "false"]))
            } else {
                out.append(HealthCheckResult(name: "logDirectory.lock", status: .degraded,
                                             message: "not in use, but not closed cleanly (no \(LogDirectory.cleanShutdownFileName)): the next open recovers every partition.",
                                             details: ["inUse": "false"]))
            }
        case .held(let pid):
            inUse = true
            out.append(HealthCheckResult(name: "logDirectory.lock", status: .healthy,
                                         message: "in use by process \(pid)" + (verify ? " (segments not verified while it runs)" : ""),
                                         details: ["inUse": "true", "pid": pid]))
        }
        out.append(writable(path: path))
        out.append(diskSpace(path: path, minFreeBytes: minFreeBytes))
        if verify && !inUse {
            do {
                let v = try LogInspector.verify(logDirectory: path)
                let details = ["partitions": String(v.partitionsChecked), "segments": String(v.segmentsChecked),
                               "batches": String(v.batchesChecked), "problems": String(v.problems.count), "notes": String(v.notes.count)]
                if v.isValid {
                    out.append(HealthCheckResult(name: "logDirectory.segments", status: .healthy,
                                                 message: "\(v.segmentsChecked) segment(s), \(v.batchesChecked) batch(es) in \(v.partitionsChecked) partition(s) verified",
                                                 details: details))
                } else {
                    out.append(HealthCheckResult(name: "logDirectory.segments", status: .unhealthy,
                                                 message: "\(v.problems.count) problem(s), first: \(v.problems[0]); see weir log verify; opening the directory truncates a damaged tail.",
                                                 details: details))
                }
            } catch {
                out.append(HealthCheckResult(name: "logDirectory.segments", status: .unhealthy,
                                             message: "cannot read the segments: \(error.message)"))
            }
        }
        return out
    }

    /// A consumer group: its members (when the backend knows them) and its lag. Unhealthy when a
    /// partition's lag exceeds `maxLag`; nil `maxLag` reports the lag without judging it.
    public static func consumerGroup(_ group: String, client: any MessagingClient, offsets: any ConsumerGroupOffsets,
                                     maxLag: Int64? = nil) async -> HealthCheckResult {
        let name = "group.\(group)"
        let snap: LagSnapshot
        do {
            snap = try await LagMonitor.snapshot(client: client, offsets: offsets, group: group)
        } catch {
            return HealthCheckResult(name: name, status: .degraded, message: "cannot compute the lag: \(error.message)",
                                     details: ["retriable": String(error.isRetriable)])
        }
        let members = await offsets.memberCount(group: group)
        var details = ["totalLag": String(snap.totalLag), "partitions": String(snap.partitions.count)]
        if let members { details["members"] = String(members) }
        if let maxLag { details["maxLag"] = String(maxLag) }
        let worst = snap.partitions.max { $0.lag < $1.lag }
        if let worst { details["maxPartitionLag"] = String(worst.lag) }
        let who = members.map { "\($0) member(s), " } ?? ""
        if let maxLag, let worst, worst.lag > maxLag {
            return HealthCheckResult(name: name, status: .unhealthy,
                                     message: "\(who)lag \(worst.lag) on \(worst.topicPartition) exceeds \(maxLag) (total \(snap.totalLag)); scale the consumers or find the slow handler.",
                                     details: details)
        }
        return HealthCheckResult(name: name, status: .healthy, message: "\(who)total lag \(snap.totalLag) over \(snap.partitions.count) partition(s)",
                                 details: details)
    }
}
