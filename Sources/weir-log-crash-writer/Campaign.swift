// The writer and the checker of scripts/crash-campaign (see docs/campaigns.md).
//
//     weir-log-crash-writer --write DIR --seed N --acks all|1 --partitions N --mode MODE --round R
//     weir-log-crash-writer --check DIR --acks-file FILE --mode MODE
//
// `--write` appends to topic `crash` until killed, one task per partition, with batches of 1-5
// records in a random codec, and prints one line per acknowledgement:
//
//     A <partition> <baseOffset> <lastOffset>       a data batch
//     M <partition> <offset> commit|abort           a transaction marker
//
// MODE: `plain`; `compact` (cleanup.policy=compact, 50 keys, compaction forced every few ms);
// `retention` (retention.bytes=48 KiB, retention forced every few ms); `txn` (transactions of
// 1-4 batches ended by a commit or abort marker; `--round` is the producer epoch, and a
// transaction left open by an earlier round is aborted first, as a coordinator fences it).
//
// `--check` reopens DIR (recovery), reads every partition, checks each acknowledged record (its
// key and value) and marker against the log, closes it and runs `LogInspector.verify` (what
// `weir log verify` runs). A record may be missing only when retention deleted it (below the
// log-start offset) or compaction did (a later record has its key). Prints one summary line and
// exits 0 when nothing is lost and the directory verifies, 1 otherwise.
import Foundation
import WeirCompression
import WeirFormat
import WeirLog
import WeirTestSupport

enum CampaignMode: String {
    case plain, compact, retention, txn
}

struct CampaignOptions {
    var directory = ""
    var seed: UInt64 = 1
    var acks = Acks.all
    var partitions: Int32 = 1
    var mode = CampaignMode.plain
    var round: Int16 = 0
    var acksFile = ""

    /// Parses `--key value` pairs; nil (after a message) on a bad one.
    init?(_ args: ArraySlice<String>) {
        var i = args.startIndex
        while i < args.endIndex {
            guard i + 1 < args.endIndex else { return nil }
            let value = args[i + 1]
            switch args[i] {
            case "--write", "--check": directory = value
            case "--seed": guard let v = UInt64(value) else { return nil }; seed = v
            case "--acks":
                switch value {
                case "all", "-1": acks = .all
                case "1": acks = .leader
                default: return nil
                }
            case "--partitions": guard let v = Int32(value), v > 0 else { return nil }; partitions = v
            case "--mode": guard let v = CampaignMode(rawValue: value) else { return nil }; mode = v
            case "--round": guard let v = Int16(value), v >= 0 else { return nil }; round = v
            case "--acks-file": acksFile = value
            default: return nil
            }
            i += 2
        }
        if directory.isEmpty { return nil }
    }

    /// The topic's config: small segments so that every trial rolls, plus the mode's policy.
    var topicConfig: LogConfig {
        var c = LogConfig(segmentBytes: 16 << 10, segmentIndexBytes: 4096, indexIntervalBytes: 1024)
        if mode == .compact { c.cleanupPolicy = .compact }
        if mode == .retention { c.retentionBytes = 48 << 10 }
        return c
    }
}

/// The key of the record at `offset`: 50 keys that repeat in `compact` mode, unique otherwise.
func campaignKey(_ offset: Int64, _ mode: CampaignMode) -> [UInt8] {
    Array("k\(mode == .compact ? offset % 50 : offset)".utf8)
}

/// The value of the record at `offset` of `partition`.
func campaignValue(_ partition: Int32, _ offset: Int64) -> [UInt8] {
    Array("p\(partition)-".utf8) + crashValue(offset)
}

/// Writes one line to standard output with a single `write`, so that a kill leaves either the
/// whole line or a cut one (which the campaign ignores), never interleaved lines.
func emit(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
            let n = write(1, raw.baseAddress! + done, raw.count - done)
            if n <= 0 { exit(3) }
            done += n
        }
    }
}

func campaignFail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("weir-log-crash-writer: \(message)\n".utf8))
    exit(1)
}

// MARK: - Writing

func campaignWrite(_ o: CampaignOptions) async {
    do {
        let dir = try LogDirectory.open(path: o.directory, options: LogDirectory.Options(maintenanceIntervalMs: nil))
        if (try? dir.partitionCount("crash")) == nil {
            try dir.createTopic("crash", partitions: Int(o.partitions), config: o.topicConfig)
        }
        let logs = try (0..<o.partitions).map { p throws(LogError) in try dir.partition("crash", p) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (p, log) in logs.enumerated() {
                group.addTask { try await writePartition(log, Int32(p), o) }
            }
            if o.mode == .compact || o.mode == .retention {
                group.addTask {
                    var rng = o.seed | 1
                    while true {
                        try dir.runMaintenance(force: true)
                        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
                        try await Task.sleep(for: .milliseconds(Int(rng % 40) + 5))
                    }
                }
            }
            try await group.next()
        }
        campaignFail("a writer task ended")
    } catch {
        campaignFail("\(error)")
    }
}

func writePartition(_ log: PartitionLog, _ p: Int32, _ o: CampaignOptions) async throws {
    var rng = (o.seed ^ (UInt64(p) &* 0x9E37_79B9_7F4A_7C15)) | 1
    func next() -> UInt64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
    let codecs: [CompressionCodec] = [.none, .gzip, .snappy, .lz4, .zstd]
    let builders = try codecs.map { try RecordBatchBuilder(codec: $0, batchSizeLimit: Int(Int32.max)) }
    let producerId: Int64 = 1000 + Int64(p)
    var sequence: Int32 = 0
    var batchesLeftInTransaction = 0
    var inTransaction = false

    func appendMarker(_ type: ControlRecordType) async throws {
        let marker = RecordBatchBuilder.controlBatch(
            ControlRecord(type: type), producerId: producerId, producerEpoch: o.round,
            timestamp: Int64(Date().timeIntervalSince1970 * 1000))
        let r = try await log.append(marker, acks: o.acks)
        emit("M \(p) \(r.baseOffset) \(type == .commit ? "commit" : "abort")")
    }

    // A transaction that an earlier (killed) round left open is aborted with the new epoch.
    if o.mode == .txn, log.producerState(producerId)?.currentTransactionFirstOffset != nil {
        try await appendMarker(.abort)
    }
    while true {
        if o.mode == .txn && inTransaction && batchesLeftInTransaction == 0 {
            try await appendMarker(next() % 3 == 0 ? .abort : .commit)
            inTransaction = false
            continue
        }
        if o.mode == .txn && !inTransaction {
            inTransaction = true
            batchesLeftInTransaction = Int(next() % 4) + 1
        }
        let count = Int(next() % 5) + 1
        let builder = builders[Int(next() % UInt64(builders.count))]
        builder.reset()
        if o.mode == .txn {
            builder.isTransactional = true
            builder.producerId = producerId
            builder.producerEpoch = o.round
            builder.baseSequence = sequence
        }
        let first = log.highWatermark
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for i in 0..<count {
            let offset = first + Int64(i)
            _ = builder.append(timestamp: now, key: campaignKey(offset, o.mode), value: campaignValue(p, offset))
        }
        let batch = try builder.build()
        let r = try await log.append(batch, acks: o.acks)
        guard r.baseOffset == first, r.lastOffset == first + Int64(count) - 1 else {
            campaignFail("partition \(p): appended at \(r.baseOffset)...\(r.lastOffset), expected \(first)...")
        }
        emit("A \(p) \(r.baseOffset) \(r.lastOffset)")
        if o.mode == .txn {
            sequence &+= Int32(count)
            batchesLeftInTransaction -= 1
        }
    }
}

// MARK: - Checking

struct _StoredRecord {
    var key: [UInt8]?
    var value: [UInt8]?
    var marker: ControlRecordType?
}

func campaignCheck(_ o: CampaignOptions) -> Int32 {
    guard let text = try? String(contentsOfFile: o.acksFile, encoding: .utf8) else {
        campaignFail("cannot read --acks-file \(o.acksFile)")
    }
    var data: [(p: Int32, base: Int64, last: Int64)] = []
    var markers: [(p: Int32, offset: Int64, type: ControlRecordType)] = []
    for line in text.split(separator: "\n") {
        let f = line.split(separator: " ")
        if f.count == 4, f[0] == "A", let p = Int32(f[1]), let b = Int64(f[2]), let l = Int64(f[3]) {
            data.append((p, b, l))
        } else if f.count == 4, f[0] == "M", let p = Int32(f[1]), let off = Int64(f[2]), f[3] == "commit" || f[3] == "abort" {
            markers.append((p, off, f[3] == "commit" ? .commit : .abort))
        }  // anything else is a line cut by the kill: not an acknowledgement
    }
    let ackedRecords = data.reduce(0) { $0 + Int($1.last - $1.base + 1) }

    var problems: [String] = []
    var lost = 0, excused = 0, recoveryNote = ""
    do {
        let dir = try LogDirectory.open(path: o.directory, options: LogDirectory.Options(maintenanceIntervalMs: nil))
        let r = dir.recovery
        recoveryNote = r.wasCleanShutdown ? "clean" : "recovered, \(r.bytesTruncated) bytes truncated"
        let partitions = (try? dir.partitionCount("crash")) ?? 0
        var stores: [Int32: (records: [Int64: _StoredRecord], start: Int64, lastOffsetOfKey: [[UInt8]: Int64])] = [:]
        let decoder = RecordBatchDecoder()
        for p in 0..<Int32(partitions) {
            let log = try dir.partition("crash", p)
            var records: [Int64: _StoredRecord] = [:]
            var lastOffsetOfKey: [[UInt8]: Int64] = [:]
            var offset = log.logStartOffset, previous: Int64 = -1
            while offset < log.highWatermark {
                let read = try log.read(from: offset, maxBytes: 1 << 20)
                for view in read.batches {
                    let (header, recs) = try view.withUnsafeBytes { (b) throws(RecordBatchError) in try decoder.decode(b) }
                    for rec in recs {
                        if rec.offset <= previous { problems.append("partition \(p): offset \(rec.offset) after \(previous)") }
                        previous = rec.offset
                        var stored = _StoredRecord(key: rec.key, value: rec.value)
                        if header.isControl, let k = rec.key, k.count >= 4 {
                            stored.marker = ControlRecordType(rawValue: Int16(bitPattern: UInt16(k[2]) << 8 | UInt16(k[3])))
                        }
                        records[rec.offset] = stored
                        if let k = rec.key, !header.isControl { lastOffsetOfKey[k] = rec.offset }
                    }
                }
                if read.nextOffset <= offset { problems.append("partition \(p): a read at \(offset) made no progress"); break }
                offset = read.nextOffset
            }
            stores[p] = (records, log.logStartOffset, lastOffsetOfKey)
        }
        func missing(_ p: Int32, _ offset: Int64, _ what: String) {
            if let s = stores[p] {
                if o.mode == .retention && offset < s.start { excused += 1; return }
                if o.mode == .compact, let later = s.lastOffsetOfKey[campaignKey(offset, o.mode)], later > offset { excused += 1; return }
            }
            lost += 1
            if lost <= 5 { problems.append("partition \(p): acknowledged \(what) at offset \(offset) is missing") }
        }
        for a in data {
            for offset in a.base...a.last {
                guard let rec = stores[a.p]?.records[offset] else { missing(a.p, offset, "record"); continue }
                if rec.key != campaignKey(offset, o.mode) || rec.value != campaignValue(a.p, offset) {
                    lost += 1
                    if lost <= 5 { problems.append("partition \(a.p): the record at offset \(offset) is not the one acknowledged") }
                }
            }
        }
        for m in markers {
            guard let rec = stores[m.p]?.records[m.offset] else { missing(m.p, m.offset, "\(m.type) marker"); continue }
            if rec.marker != m.type {
                lost += 1
                problems.append("partition \(m.p): offset \(m.offset) holds no \(m.type) marker")
            }
        }
        try dir.close()
        let report = try LogInspector.verify(logDirectory: o.directory)
        problems += report.problems.map { "verify: \($0)" }
    } catch {
        problems.append("reopen/read failed: \(error)")
    }
    let verdict = problems.isEmpty ? "ok" : "FAILED"
    print("check \(verdict): \(ackedRecords) acknowledged records and \(markers.count) markers; \(lost) lost; "
          + "\(excused) removed by \(o.mode == .compact ? "compaction" : "retention"); open: \(recoveryNote)")
    for problem in problems.prefix(10) { print("  \(problem)") }
    return problems.isEmpty ? 0 : 1
}

/// Runs the campaign mode when the first argument is `--write` or `--check`.
func campaignMain(_ args: [String]) async -> Never {
    guard let o = CampaignOptions(args.dropFirst()) else {
        campaignFail("usage: --write DIR --seed N --acks all|1 --partitions N --mode plain|compact|retention|txn --round R, or --check DIR --acks-file FILE --mode MODE")
    }
    if args[1] == "--write" {
        await campaignWrite(o)
        exit(1)
    }
    exit(campaignCheck(o))
}
