// A helper for WeirLogTests' crash tests: appends to a log directory forever and prints
// "<baseOffset> <lastOffset>" for every acknowledged append, until killed.
//
//     weir-log-crash-writer LOG_DIR SEED [MODE]
//
// MODE (default `acks-all`):
// - `acks-all`: 1–5 records an append, acks=all, 64 KiB segments;
// - `roll`: the same with 4 KiB segments, so that a kill often lands inside a roll (the new
//   segment being created, the old one sealed, trimmed and flushed in the background);
// - `writeback`: acks=1 appends of 100–300 records (about 30–60 KiB) into 1 MiB segments, so
//   that a kill lands while the background write-back (`sync_file_range`) and the roll's flush
//   run; a process kill must not lose an `acks=1` append either (it is in the page cache).
//
// With `--write` or `--check` first, it is scripts/crash-campaign's writer and checker
// (Campaign.swift).
//
// Each record's value is `crashValue(offset)`, so the parent can check every acknowledged
// record after recovery. Not part of the product.
import Foundation
import WeirFormat
import WeirLog
import WeirTestSupport

let args = CommandLine.arguments
// scripts/crash-campaign's modes (Campaign.swift).
if args.count > 1, args[1] == "--write" || args[1] == "--check" { await campaignMain(args) }
let modes = ["acks-all", "roll", "writeback"]
guard args.count >= 3, let seed = UInt64(args[2]), args.count < 4 || modes.contains(args[3]) else {
    FileHandle.standardError.write(Data("usage: weir-log-crash-writer LOG_DIR SEED [acks-all|roll|writeback]\n".utf8))
    exit(2)
}
let mode = args.count >= 4 ? args[3] : "acks-all"

do {
    let dir = try LogDirectory.open(path: args[1], options: LogDirectory.Options(maintenanceIntervalMs: nil))
    if (try? dir.partitionCount("crash")) == nil {
        let config = switch mode {
        case "roll": LogConfig(segmentBytes: 4 << 10, segmentIndexBytes: 4096, indexIntervalBytes: 1024)
        case "writeback": LogConfig(segmentBytes: 1 << 20, segmentIndexBytes: 64 << 10, indexIntervalBytes: 4096)
        default: LogConfig(segmentBytes: 64 << 10, segmentIndexBytes: 4096, indexIntervalBytes: 1024)
        }
        try dir.createTopic("crash", partitions: 1, config: config)
    }
    let log = try dir.partition("crash", 0)
    var rng = seed | 1
    let builder = try RecordBatchBuilder(codec: .none, batchSizeLimit: Int(Int32.max))
    while true {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        let count = mode == "writeback" ? Int(rng % 200) + 100 : Int(rng % 5) + 1
        let first = log.highWatermark
        builder.reset()
        for i in 0..<count {
            let offset = first + Int64(i)
            builder.append(timestamp: 1_700_000_000_000 + offset, key: Array("k\(offset)".utf8), value: crashValue(offset))
        }
        let batch = try builder.build()
        let r = try await log.append(batch, acks: mode == "writeback" ? .leader : .all)
        precondition(r.baseOffset == first && r.lastOffset == first + Int64(count) - 1)
        let line = "\(r.baseOffset) \(r.lastOffset)\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    }
} catch {
    FileHandle.standardError.write(Data("weir-log-crash-writer: \(error)\n".utf8))
    exit(1)
}
