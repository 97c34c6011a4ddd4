#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A log directory: topics with N partitions, each in `<log-dir>/<topic>-<partition>/`, owned by
/// one process at a time (`.lock`).
///
/// Opening recovers what an unclean shutdown left (see `recovery`); `close()` flushes, trims the
/// active segments, writes the checkpoints and the clean-shutdown marker.
///
/// Files at the top of the directory, named as Kafka names them:
/// - `.lock`: the lock, holding the owner's pid;
/// - `.kafka_cleanshutdown`: present only between a clean close and the next open;
/// - `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`: Kafka's checkpoint format;
/// - `.topics/<topic>.properties`: each topic's partition count and config overrides.
public final class LogDirectory: Sendable {
    /// Directory-wide settings (Kafka's broker `log.*` properties).
    public struct Options: Sendable {
        /// `log.retention.check.interval.ms` (default 300000): how often the maintenance tick
        /// applies retention and compaction.
        public var retentionCheckIntervalMs: Int64 = 300_000
        /// `log.flush.offset.checkpoint.interval.ms` (default 60000): how often the recovery
        /// points are checkpointed.
        public var recoveryPointCheckpointIntervalMs: Int64 = 60_000
        /// The maintenance tick (checks `flush.ms`, then retention and checkpoints when due);
        /// nil runs no background task (call `runMaintenance` yourself). Default 1000 ms.
        public var maintenanceIntervalMs: Int64? = 1000
        /// The config of topics created without one and of partition folders found without a
        /// `.topics` entry.
        public var defaultConfig = LogConfig()

        public init(retentionCheckIntervalMs: Int64 = 300_000, recoveryPointCheckpointIntervalMs: Int64 = 60_000,
                    maintenanceIntervalMs: Int64? = 1000, defaultConfig: LogConfig = LogConfig()) {
            self.retentionCheckIntervalMs = retentionCheckIntervalMs
            self.recoveryPointCheckpointIntervalMs = recoveryPointCheckpointIntervalMs
            self.maintenanceIntervalMs = maintenanceIntervalMs
            self.defaultConfig = defaultConfig
        }
    }

    /// What `open` found and repaired, per partition.
    public struct RecoveryReport: Sendable, CustomStringConvertible {
        /// Whether the previous owner closed the directory cleanly.
        public var wasCleanShutdown: Bool
        public var partitions: [PartitionRecovery]
        /// Directory-level notes (an unreadable checkpoint, a partition folder adopted, ...).
        public var messages: [String]

        public var bytesTruncated: Int { partitions.reduce(0) { $0 + $1.bytesTruncated } }
        public var description: String {
            (["clean shutdown: \(wasCleanShutdown)"] + messages + partitions.map(\.description)).joined(separator: "\n")
        }
    }

    public static let cleanShutdownFileName = ".kafka_cleanshutdown"
    public static let recoveryPointCheckpointFileName = "recovery-point-offset-checkpoint"
    public static let logStartOffsetCheckpointFileName = "log-start-offset-checkpoint"
    static let topicsFolder = ".topics"

    struct _Topic {
        var config: LogConfig
        var partitions: [PartitionLog]
    }

    struct _State: ~Copyable {
        var topics: [String: _Topic] = [:]
        var closed = false
        var lastRetentionMillis: Int64
        var lastCheckpointMillis: Int64
    }

    /// The directory path.
    public let path: String
    public let options: Options
    /// What opening the directory recovered.
    public let recovery: RecoveryReport
    let _lock: _DirectoryLock
    let _state: Mutex<_State>
    let _maintenance = Mutex<Task<Void, Never>?>(nil)
    let _checkpointLock = Mutex<Void>(())

    /// Opens (creating if needed) the log directory at `path`, taking its lock and recovering
    /// every partition when the previous owner did not close it cleanly.
    ///
    /// - Throws: `.logDirectoryLocked` when another process (or another open in this process)
    ///   holds it; `.io` / `.noSpace` for file-system failures.
    public static func open(path: String, options: Options = Options()) throws(LogError) -> LogDirectory {
        try LogDirectory(path: path, options: options)
    }

    private init(path: String, options: Options) throws(LogError) {
        try options.defaultConfig.validate()
        try _Sys.mkdir(path)
        let lock = try _DirectoryLock(directory: path)
        self.path = path
        self.options = options
        self._lock = lock

        let markerPath = path + "/" + LogDirectory.cleanShutdownFileName
        let clean = _Sys.exists(markerPath)
        var messages: [String] = []
        let recoveryPoints = LogDirectory._readCheckpoint(path + "/" + LogDirectory.recoveryPointCheckpointFileName, &messages)
        let startOffsets = LogDirectory._readCheckpoint(path + "/" + LogDirectory.logStartOffsetCheckpointFileName, &messages)
        // From here on a crash must look unclean.
        if clean {
            try _Sys.unlink(markerPath)
            try _Sys.syncDirectory(path)
        }

        // Topics: `.topics/*.properties`, then partition folders without an entry.
        try _Sys.mkdir(path + "/" + LogDirectory.topicsFolder)
        LogDirectory._finishInterruptedDeletes(path, &messages)
        LogDirectory._removeHalfMadeTopics(path, &messages)
        var declared: [String: (config: LogConfig, partitions: Int)] = [:]
        for name in try _Sys.listDirectory(path + "/" + LogDirectory.topicsFolder) where name.hasSuffix(".properties") {
            let topic = String(name.dropLast(".properties".count))
            let filePath = path + "/" + LogDirectory.topicsFolder + "/" + name
            guard let bytes = try _Sys.readSmallFile(filePath) else { continue }
            var props = _Properties.decode(bytes)
            let count = Int(props.removeValue(forKey: "partitions") ?? "") ?? 0
            do {
                declared[topic] = (try LogConfig(properties: props), count)
            } catch {
                throw LogError(.corruptState, "topic config \(filePath) is invalid: \(error.message) Fix or delete the file.")
            }
        }
        for name in try _Sys.listDirectory(path) where _Sys.isDirectory(path + "/" + name) && !name.hasPrefix(".") {
            guard let dash = name.lastIndex(of: "-"), let p = Int32(name[name.index(after: dash)...]), p >= 0 else { continue }
            let topic = String(name[..<dash])
            guard (try? LogDirectory.validateTopicName(topic)) != nil else { continue }
            if declared[topic] == nil {
                declared[topic] = (options.defaultConfig, 0)
                messages.append("adopted partition folder \(name) without a topic entry; using the default config")
            }
            declared[topic]!.partitions = max(declared[topic]!.partitions, Int(p) + 1)
        }

        var topics: [String: _Topic] = [:]
        var reports: [PartitionRecovery] = []
        for (topic, d) in declared.sorted(by: { $0.key < $1.key }) {
            var logs: [PartitionLog] = []
            for p in 0..<Int32(d.partitions) {
                let tp = TopicPartition(topic, p)
                let (log, report) = try PartitionLog._open(
                    topicPartition: tp, directory: path + "/" + tp.directoryName, config: d.config, clean: clean,
                    recoveryPoint: recoveryPoints?[tp], logStartOffset: startOffsets?[tp])
                logs.append(log)
                reports.append(report)
            }
            topics[topic] = _Topic(config: d.config, partitions: logs)
        }
        let now = _wallMillis()
        self._state = Mutex(_State(topics: topics, lastRetentionMillis: now, lastCheckpointMillis: now))
        self.recovery = RecoveryReport(wasCleanShutdown: clean, partitions: reports, messages: messages)
        // On a full disk the previous checkpoints stay; the directory still opens and reads.
        try? writeCheckpoints()
        _startMaintenance()
    }

    static func _readCheckpoint(_ file: String, _ messages: inout [String]) -> [TopicPartition: Int64]? {
        do {
            guard let bytes = try _Sys.readSmallFile(file) else { return nil }
            return try _Checkpoint.decode(bytes, path: file)
        } catch {
            messages.append("ignored \(file): \(error.message)")
            return nil
        }
    }

    // MARK: - Topics

    /// The longest topic name: a name must fit the longest file name Weir makes from it within
    /// the file system's 255-byte `NAME_MAX`. That is `.topics/<topic>.properties.tmp` (15 bytes
    /// more than the name), which beats `<topic>-<partition>` (at most 6 more, partitions being
    /// at most 100000). Kafka's own limit, 249, comes the same way from its file names.
    public static let maxTopicNameLength = 255 - ".properties.tmp".utf8.count

    /// Checks the topic-name rules: 1–240 characters (`maxTopicNameLength`) of `[a-zA-Z0-9._-]`,
    /// not `.` or `..` (Kafka's rules, with the length bounded by Weir's file names).
    public static func validateTopicName(_ name: String) throws(LogError) {
        if name.isEmpty || name.utf8.count > maxTopicNameLength {
            let shown = name.utf8.count > 40 ? String(name.prefix(40)) + "…" : name
            throw LogError(.invalidTopic, "topic name '\(shown)' has \(name.utf8.count) characters; a topic name must be 1 to \(maxTopicNameLength) characters long (the longest file name made from it must fit 255 bytes).")
        }
        if name == "." || name == ".." {
            throw LogError(.invalidTopic, "topic name '\(name)' is not allowed; '.' and '..' are reserved.")
        }
        for c in name.unicodeScalars where !(c.isASCII && (("0"..."9").contains(c) || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "." || c == "_" || c == "-")) {
            throw LogError(.invalidTopic, "topic name '\(name)' contains '\(c)' (U+\(String(c.value, radix: 16, uppercase: true))); use only ASCII letters, digits, '.', '_' and '-'.")
        }
    }

    /// Creates a topic with `partitions` partitions and persists its config.
    public func createTopic(_ name: String, partitions: Int, config: LogConfig? = nil) throws(LogError) {
        try LogDirectory.validateTopicName(name)
        guard partitions >= 1 && partitions <= 100_000 else {
            throw LogError(.invalidTopic, "topic '\(name)': partitions=\(partitions) is out of range; allowed range 1...100000.")
        }
        let config = config ?? options.defaultConfig
        try config.validate()
        try _dropCheckpointedOffsets(of: name)
        try _state._withLock { (s: inout _State) throws(LogError) in
            if s.closed { throw LogError(.closed, "the log directory \(path) is closed.") }
            if s.topics[name] != nil { throw LogError(.topicAlreadyExists, "topic '\(name)' already exists in \(path).") }
            s.topics[name] = _Topic(config: config, partitions: try _createTopicFiles(name, partitions: partitions, config: config))
        }
    }

    /// Rewrites the checkpoints when they still name partitions of `topic` that does not exist:
    /// a deleted topic's, left there when its `deleteTopic` could not write them (a full disk).
    /// A topic created under the same name would otherwise take over that topic's recovery
    /// point after a crash, and report the offsets up to it as a lost tail (a false hole).
    func _dropCheckpointedOffsets(of topic: String) throws(LogError) {
        guard _state._withLock({ $0.topics[topic] == nil }) else { return }
        var ignored: [String] = []
        let named = [LogDirectory.recoveryPointCheckpointFileName, LogDirectory.logStartOffsetCheckpointFileName].contains { file in
            (LogDirectory._readCheckpoint(path + "/" + file, &ignored) ?? [:]).keys.contains { $0.topic == topic }
        }
        if named { try writeCheckpoints() }
    }

    /// Creates a topic's partitions and then its properties file, all or nothing: when any step
    /// fails (a full disk at a preallocation, say) every partition folder made so far and the
    /// properties file are removed again, and the error is rethrown. A crash half-way leaves the
    /// `.topics/<topic>.creating` marker written first, and the next open removes what the
    /// create made (`_removeHalfMadeTopics`) instead of adopting a topic with too few partitions
    /// and the default config.
    func _createTopicFiles(_ name: String, partitions: Int, config: LogConfig) throws(LogError) -> [PartitionLog] {
        var logs: [PartitionLog] = []
        let creating = LogDirectory._creatingMarker(path, name)
        // A delete of a topic of this name that failed half-way (its files are gone) must not
        // make the next open delete this one.
        try? _Sys.unlink(LogDirectory._deletingMarker(path, name))
        do throws(LogError) {
            try _Sys.writeFileAtomically(creating, Array("partitions=\(partitions)\n".utf8), directory: path + "/" + LogDirectory.topicsFolder)
            for p in 0..<Int32(partitions) {
                let tp = TopicPartition(name, p)
                let directory = path + "/" + tp.directoryName
                if _Sys.exists(directory) {
                    throw LogError(.topicAlreadyExists, "a partition folder \(directory) exists without a topic entry; move it away or delete it, then create '\(name)' again.")
                }
                do throws(LogError) {
                    let (log, _) = try PartitionLog._open(topicPartition: tp, directory: directory, config: config,
                                                          clean: true, recoveryPoint: nil, logStartOffset: nil, creating: true)
                    logs.append(log)
                } catch {
                    LogDirectory._removeTree(directory)
                    throw error
                }
            }
            try _writeTopicProperties(name, config: config, partitions: partitions)
            try _Sys.syncDirectory(path)
            try? _Sys.unlink(creating)
            return logs
        } catch {
            for log in logs {
                log._writer._withLock { $0.closed = true }
                for s in log._segments._withLock({ $0 }) { try? s.deleteFiles() }
                LogDirectory._removeTree(log.directory)
            }
            let properties = path + "/" + LogDirectory.topicsFolder + "/" + name + ".properties"
            try? _Sys.unlink(properties)
            try? _Sys.unlink(properties + ".tmp")
            try? _Sys.unlink(creating)
            try? _Sys.syncDirectory(path)
            throw error
        }
    }


    func _writeTopicProperties(_ name: String, config: LogConfig, partitions: Int) throws(LogError) {
        var props = config.overrides
        props["partitions"] = String(partitions)
        let folder = path + "/" + LogDirectory.topicsFolder
        try _Sys.writeFileAtomically(folder + "/" + name + ".properties", _Properties.encode(props, comment: "topic \(name)"), directory: folder)
    }

    /// Deletes a topic: its partitions are closed and their folders removed. Views still held by
    /// readers stay valid until dropped. A `.topics/<topic>.deleting` marker, written first and
    /// removed last, makes the next open finish a delete that a crash interrupted.
    public func deleteTopic(_ name: String) throws(LogError) {
        _ = try _topic(name)
        let deleting = LogDirectory._deletingMarker(path, name)
        try _Sys.writeFileAtomically(deleting, [], directory: path + "/" + LogDirectory.topicsFolder)
        let topic = try _state._withLock { (s: inout _State) throws(LogError) -> _Topic in
            guard let t = s.topics.removeValue(forKey: name) else {
                throw LogError(.unknownTopicOrPartition, "topic '\(name)' does not exist in \(path).")
            }
            return t
        }
        try _Sys.unlink(path + "/" + LogDirectory.topicsFolder + "/" + name + ".properties")
        for log in topic.partitions {
            log._waiters.close()
            log._writer._withLock { $0.closed = true }
            for s in log._segments._withLock({ $0 }) { try s.deleteFiles() }
            for n in (try? _Sys.listDirectory(log.directory)) ?? [] { try _Sys.unlink(log.directory + "/" + n) }
            try _Sys.rmdir(log.directory)
        }
        try _Sys.syncDirectory(path)
        try writeCheckpoints()
        try _Sys.unlink(deleting)
    }

    /// The topic names, sorted.
    public var topicNames: [String] { _state._withLock { $0.topics.keys.sorted() } }

    /// A topic's config.
    public func topicConfig(_ name: String) throws(LogError) -> LogConfig {
        try _topic(name).config
    }

    /// A topic's partition count.
    public func partitionCount(_ name: String) throws(LogError) -> Int {
        try _topic(name).partitions.count
    }

    /// Replaces a topic's config (persisted; applied to every partition).
    public func alterTopicConfig(_ name: String, _ config: LogConfig) throws(LogError) {
        try config.validate()
        let t = try _state._withLock { (s: inout _State) throws(LogError) -> _Topic in
            guard var t = s.topics[name] else { throw LogError(.unknownTopicOrPartition, "topic '\(name)' does not exist in \(path).") }
            try _writeTopicProperties(name, config: config, partitions: t.partitions.count)
            t.config = config
            s.topics[name] = t
            return t
        }
        for p in t.partitions { try p.updateConfig(config) }
    }

    func _topic(_ name: String) throws(LogError) -> _Topic {
        guard let t = _state._withLock({ $0.topics[name] }) else {
            throw LogError(.unknownTopicOrPartition, "topic '\(name)' does not exist in \(path); create it first.")
        }
        return t
    }

    /// One partition's log.
    public func partition(_ tp: TopicPartition) throws(LogError) -> PartitionLog {
        let t = try _topic(tp.topic)
        guard tp.partition >= 0 && Int(tp.partition) < t.partitions.count else {
            throw LogError(.unknownTopicOrPartition, "partition \(tp.partition) of topic '\(tp.topic)' does not exist (it has \(t.partitions.count) partitions).")
        }
        return t.partitions[Int(tp.partition)]
    }

    /// One partition's log.
    public func partition(_ topic: String, _ partition: Int32) throws(LogError) -> PartitionLog {
        try self.partition(TopicPartition(topic, partition))
    }

    /// Every partition of every topic.
    public var allPartitions: [PartitionLog] {
        _state._withLock { s in s.topics.keys.sorted().flatMap { s.topics[$0]!.partitions } }
    }

    // MARK: - Checkpoints, maintenance, close

    /// Writes `recovery-point-offset-checkpoint` and `log-start-offset-checkpoint`.
    ///
    /// The partitions are listed under the checkpoint lock, so that the last file written
    /// describes the latest topics: a writer that listed them before a `deleteTopic` cannot
    /// overwrite the delete's checkpoint with the deleted topic's offsets (which a topic
    /// re-created under the same name would inherit after a crash, as a false tail hole).
    public func writeCheckpoints() throws(LogError) {
        try _checkpointLock._withLock { (_: inout Void) throws(LogError) in
            var rp: [TopicPartition: Int64] = [:], ls: [TopicPartition: Int64] = [:]
            for l in allPartitions {
                rp[l.topicPartition] = l.recoveryPoint
                ls[l.topicPartition] = l._checkpointLogStartOffset
            }
            try _Sys.writeFileAtomically(path + "/" + LogDirectory.recoveryPointCheckpointFileName, _Checkpoint.encode(rp), directory: path)
            try _Sys.writeFileAtomically(path + "/" + LogDirectory.logStartOffsetCheckpointFileName, _Checkpoint.encode(ls), directory: path)
        }
    }

    /// Flushes every partition to disk.
    public func flush() async throws(LogError) {
        for l in allPartitions { try await l.flush() }
        try writeCheckpoints()
    }

    func _startMaintenance() {
        guard let interval = options.maintenanceIntervalMs, interval > 0 else { return }
        let task = Task.detached(priority: .utility) { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(interval))
                guard let self, !Task.isCancelled else { return }
                _ = try? self.runMaintenance()
            }
        }
        _maintenance._withLock { $0 = task }
    }

    /// One maintenance pass: `flush.ms` flushes; when due (`log.retention.check.interval.ms`),
    /// retention and compaction; when due, the checkpoints. The background task calls this; call
    /// it yourself with `force: true` to apply retention and compaction now.
    @discardableResult
    public func runMaintenance(now: Int64? = nil, force: Bool = false) throws(LogError) -> [RetentionResult] {
        let now = now ?? _wallMillis()
        let (closed, retentionDue, checkpointDue) = _state._withLock { s -> (Bool, Bool, Bool) in
            let r = force || now - s.lastRetentionMillis >= options.retentionCheckIntervalMs
            let c = force || now - s.lastCheckpointMillis >= options.recoveryPointCheckpointIntervalMs
            if r { s.lastRetentionMillis = now }
            if c { s.lastCheckpointMillis = now }
            return (s.closed, r, c)
        }
        if closed { return [] }
        var results: [RetentionResult] = []
        for l in allPartitions {
            l._maybeTimedFlush(now: now)
            if retentionDue {
                let r = try l.enforceRetention(now: now)
                if r.segmentsDeleted > 0 || r.segmentsCompacted > 0 { results.append(r) }
            }
        }
        if checkpointDue || !results.isEmpty { try writeCheckpoints() }
        return results
    }

    /// Flushes and closes every partition, writes the checkpoints and the clean-shutdown marker,
    /// and releases the lock. Blocks while the data is written to disk. Idempotent.
    public func close() throws(LogError) {
        let task = _maintenance._withLock { t -> Task<Void, Never>? in defer { t = nil }; return t }
        task?.cancel()
        let logs = _state._withLock { s -> [PartitionLog]? in
            if s.closed { return nil }
            s.closed = true
            return s.topics.keys.sorted().flatMap { s.topics[$0]!.partitions }
        }
        guard let logs else { return }
        // The lock goes even when closing fails (a full disk): the marker is written only when
        // everything before it succeeded, so the next open recovers what needs it.
        defer { _lock.release() }
        var failure: LogError?
        if logs.count >= _GroupSync.syncfsThreshold {
            failure = _closeWithOneSync(logs)
        } else {
            for l in logs {
                do throws(LogError) { try l._close() } catch { failure = failure ?? error }
            }
        }
        do throws(LogError) {
            try writeCheckpoints()
            if let failure { throw failure }
            try _Sys.writeFileAtomically(path + "/" + LogDirectory.cleanShutdownFileName, [], directory: path)
        } catch {
            throw failure ?? error
        }
    }

    /// Closes many partitions with one `syncfs` of the directory's file system instead of four
    /// `fdatasync`s each. Returns the first failure.
    func _closeWithOneSync(_ logs: [PartitionLog]) -> LogError? {
        var failure: LogError?
        var closed: [(PartitionLog, Int64)] = []
        for l in logs {
            do throws(LogError) {
                if let target = try l._closeDeferringSync() { closed.append((l, target)) }
            } catch { failure = failure ?? error }
        }
        do throws(LogError) {
            try _Sys.syncfs(path)
            for (l, target) in closed { l._finishCloseAfterSync(target) }
        } catch { failure = failure ?? error }
        return failure
    }

    deinit {
        _maintenance._withLock { $0?.cancel() }
    }
}

/// Java-properties-style files: `key=value` lines, `#` comments.
enum _Properties {
    static func encode(_ props: [String: String], comment: String) -> [UInt8] {
        var text = "# \(comment)\n"
        for k in props.keys.sorted() { text += "\(k)=\(props[k]!)\n" }
        return Array(text.utf8)
    }

    static func decode(_ bytes: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let l = line.trimmingWhitespace
            if l.isEmpty || l.hasPrefix("#") || l.hasPrefix("!") { continue }
            guard let eq = l.firstIndex(of: "=") else { continue }
            out[l[..<eq].trimmingWhitespace] = l[l.index(after: eq)...].trimmingWhitespace
        }
        return out
    }
}
