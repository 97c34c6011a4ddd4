// libFuzzer target: opening (and recovering) a partition whose segment files hold arbitrary
// bytes, then reading everything, appending, closing and reopening.
//
// Input layout (so that libFuzzer mutates all three files of a segment):
//
//     byte 0      flags: 1 = the clean-shutdown marker is present, 2 = write a `.index`,
//                 4 = write a `.timeindex`, 8 = the segment's base offset is 100, not 0,
//                 16 = stop after the first close (no reopen: about half the work per input),
//                 32 = a recovery-point checkpoint 1,000 past the base (a lost tail: a hole),
//                 64 = a log-start checkpoint 5 past the base, 128 = a compacted topic
//                 (compaction runs before the append)
//     bytes 1-2   the `.index` length (big-endian, capped to what is left)
//     bytes 3-4   the `.timeindex` length
//     ...         the `.index` bytes, the `.timeindex` bytes, then the `.log` bytes
//
// Each run: `weir log verify`'s partition check on the raw files, `PartitionLog._open` (the
// recovery that `LogDirectory.open` runs for each partition, with the marker and checkpoints
// the flags give), a read of every batch from the log-start offset to the high-water mark with
// every record decoded, time-index lookups, one append, a clean close, a reopen with what a
// clean close checkpoints, the same reads, and a close (unless flag 16). The directory-level
// work of `LogDirectory.open`/`close` (lock file, checkpoint files, topic files, marker) reads
// none of the input, so it is left out: it cost most of each run. With `WEIR_FUZZ_STRICT=1`
// the run also requires that the appended record is still at its acknowledged offset after
// the reopen (no acknowledged record lost). `WEIR_FUZZ_TMP` picks the folder of the temporary
// partition folder (default /dev/shm).
//
// Built and run by scripts/fuzz; see docs/campaigns.md.
import Foundation
import Glibc
import WeirFormat
@testable import WeirLog

/// The partition folder, relative to the process's working folder: a temporary folder that the
/// first input creates and enters (tmpfs when there is one: each run writes and maps files), so
/// that every system call walks a two-component path.
let partition = "t-0"
let root: String = {
    let parent = ProcessInfo.processInfo.environment["WEIR_FUZZ_TMP"]
        ?? (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
    let root = "\(parent)/weir-fuzz-recovery-\(getpid())"
    precondition(mkdir(root, 0o755) == 0 || errno == EEXIST, "cannot create \(root)")
    precondition(chdir(root) == 0, "cannot enter \(root)")
    return root
}()
let topicPartition = TopicPartition("t", 0)
/// `WEIR_FUZZ_NO_CLEAN_MARKER=1` ignores flag 1, to explore recovery past a known crash of the
/// clean-shutdown path.
let noCleanMarker = ProcessInfo.processInfo.environment["WEIR_FUZZ_NO_CLEAN_MARKER"] == "1"
let strict = ProcessInfo.processInfo.environment["WEIR_FUZZ_STRICT"] == "1"
nonisolated(unsafe) let decoder = RecordBatchDecoder(checkCRCs: true, maxDecompressedBytes: 4 << 20)
nonisolated(unsafe) let builder = try! RecordBatchBuilder(codec: .none, batchSizeLimit: 1 << 20)
/// Small segments and indexes, so that an append may roll and each open maps kilobytes, not
/// Kafka's 10 MiB index default.
let plainConfig = LogConfig(segmentBytes: 64 << 10, segmentIndexBytes: 4096, indexIntervalBytes: 128)
let compactedConfig: LogConfig = {
    var c = plainConfig
    c.cleanupPolicy = .compact
    return c
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard size >= 5 else { return 0 }
    let flags = data[0]
    var rest = input[5...]
    let indexBytes = rest.prefix(Int(data[1]) << 8 | Int(data[2]))
    rest = rest.dropFirst(indexBytes.count)
    let timeIndexBytes = rest.prefix(Int(data[3]) << 8 | Int(data[4]))
    let logBytes = rest.dropFirst(timeIndexBytes.count)

    // Plain system calls (no Foundation file APIs): this setup runs for every input.
    _ = root
    emptyDirectory(partition)
    precondition(mkdir(partition, 0o755) == 0 || errno == EEXIST, "cannot create \(root)/\(partition)")
    let base: Int64 = flags & 8 != 0 ? 100 : 0
    let name = flags & 8 != 0 ? "00000000000000000100" : "00000000000000000000"
    write(partition + "/" + name + ".log", logBytes)
    if flags & 2 != 0 { write(partition + "/" + name + ".index", indexBytes) }
    if flags & 4 != 0 { write(partition + "/" + name + ".timeindex", timeIndexBytes) }
    let clean = flags & 1 != 0 && !noCleanMarker
    let recoveryPoint: Int64? = flags & 32 != 0 ? base + 1000 : nil
    let logStart: Int64? = flags & 64 != 0 ? base + 5 : nil
    let config = flags & 128 != 0 ? compactedConfig : plainConfig

    _ = LogInspector._verifyPartition(partition, live: false, compacted: flags & 128 != 0, checkpointedStart: logStart,
                                      trustStart: clean, flushedEnd: recoveryPoint)
    guard let (log, _) = try? PartitionLog._open(topicPartition: topicPartition, directory: partition, config: config,
                                                 clean: clean, recoveryPoint: recoveryPoint, logStartOffset: logStart)
    else { return 0 }
    readAll(log)
    if flags & 128 != 0 { _ = try? log.compact(now: 1_800_000_000_000) }
    var appended: (offset: Int64, value: [UInt8])? = nil
    builder.reset()
    let value = Array("fuzz-\(size)".utf8)
    _ = builder.append(timestamp: 1_700_000_000_000, key: nil, value: value)
    if let batch = try? builder.build() {
        let result: AppendResult? = batch.withUnsafeBytes { try? log.append($0) }
        if let result { appended = (result.baseOffset, value) }
    }
    let closed = (try? log._close()) != nil
    // A roll's background flush must not run into the next input's files.
    log._durability.queue.sync {}
    guard closed, flags & 16 == 0 || strict else { return 0 }
    // What `LogDirectory.close` checkpoints after closing its partitions.
    let (checkpointedEnd, checkpointedStart) = (log.recoveryPoint, log._checkpointLogStartOffset)

    guard let (again, _) = try? PartitionLog._open(topicPartition: topicPartition, directory: partition, config: config,
                                                   clean: true, recoveryPoint: checkpointedEnd, logStartOffset: checkpointedStart)
    else {
        precondition(!strict || appended == nil, "the partition does not reopen after a clean close")
        return 0
    }
    readAll(again)
    if strict, let appended {
        precondition(valueAt(again, appended.offset) == appended.value,
                     "the record appended at offset \(appended.offset) is not there after a clean close and reopen")
    }
    try? again._close()
    again._durability.queue.sync {}
    return 0
}

/// Writes `bytes` to a new file at `path` (no sync: the directory is on tmpfs and thrown away).
func write(_ path: String, _ bytes: Slice<UnsafeRawBufferPointer>) {
    do throws(LogError) { try _replaceFile(path, UnsafeRawBufferPointer(rebasing: bytes)) } catch { preconditionFailure(error.message) }
}

/// Removes everything under `path` (and one level of folders below it).
func emptyDirectory(_ path: String) {
    guard let dir = opendir(path) else { return }
    while let entry = readdir(dir) {
        let name = _Sys.entryName(entry)
        if name == "." || name == ".." { continue }
        let child = path + "/" + name
        if unlink(child) != 0 && errno == EISDIR { emptyDirectory(child); rmdir(child) }
    }
    closedir(dir)
}

/// Reads and decodes every batch from the log-start offset to the high-water mark.
func readAll(_ log: PartitionLog) {
    var offset = log.logStartOffset
    let end = log.highWatermark
    var sink = 0
    var reads = 0
    while offset < end, reads < 10_000, let r = try? log.read(from: offset, maxBytes: 1 << 16) {
        reads += 1
        for view in r.batches {
            _ = view.header
            view.withUnsafeBytes { bytes in
                try? decoder.forEachRecord(in: bytes) { record in
                    sink &+= record.keyCount &+ record.valueCount
                }
            }
        }
        if r.nextOffset <= offset { break }
        offset = r.nextOffset
    }
    for probe in [Int64.min, 0, 1_700_000_000_000, Int64.max] {
        sink &+= Int(truncatingIfNeeded: log.offset(forTimestamp: probe)?.offset ?? 0)
    }
    _ = log.segments
    if sink == 0x5EED_F00D { print("") }
}

/// The value of the record at `offset`, or nil when the log does not return it.
func valueAt(_ log: PartitionLog, _ offset: Int64) -> [UInt8]? {
    guard let r = try? log.read(from: offset, maxBytes: 1 << 16) else { return nil }
    var found: [UInt8]? = nil
    for view in r.batches {
        view.withUnsafeBytes { bytes in
            try? decoder.forEachRecord(in: bytes) { record in
                if record.offset == offset, let v = record.value { found = Array(v) }
            }
        }
    }
    return found
}
