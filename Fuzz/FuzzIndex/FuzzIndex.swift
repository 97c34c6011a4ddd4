// libFuzzer target: the `.index` and `.timeindex` readers on arbitrary file contents.
//
// The input is split in two at the first byte's position (scaled to the input): the first part
// becomes a closed segment's `.index`, the rest its `.timeindex`. Both are mapped read-only as
// a closed segment's are, sanity-checked (Kafka's checks), searched for offsets and timestamps
// taken from the input, and listed as `weir log dump` lists them. Torn files (a size that is
// not a multiple of the entry size), unsorted, negative and huge entries must not crash.
//
// Built and run by scripts/fuzz; see docs/campaigns.md.
#if canImport(Glibc)
import Glibc
#endif
@testable import WeirLog

let directory: String = {
    let root = getenv("WEIR_FUZZ_TMP").map { String(cString: $0) } ?? (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp")
    let d = "\(root)/weir-fuzz-index-\(getpid())"
    mkdir(d, 0o755)
    return d
}()
let indexPath = directory + "/00000000000000001000.index"
let timeIndexPath = directory + "/00000000000000001000.timeindex"

/// Replaces the file at `path` with `bytes`.
func write(_ path: String, _ bytes: UnsafeRawBufferPointer) {
    do throws(LogError) { try _replaceFile(path, bytes) } catch { preconditionFailure(error.message) }
}

/// A big-endian Int64 from up to 8 bytes of `bytes` at `at` (zeros past the end).
func int64(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> Int64 {
    var v: UInt64 = 0
    for i in 0..<8 { v = v << 8 | UInt64(at + i < bytes.count ? bytes[at + i] : 0) }
    return Int64(bitPattern: v)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard size > 0 else { return 0 }
    let split = 1 + (size - 1) * Int(data[0]) / 255
    write(indexPath, UnsafeRawBufferPointer(rebasing: input[1 ..< split]))
    write(timeIndexPath, UnsafeRawBufferPointer(rebasing: input[split...]))
    let base: Int64 = 1000
    var sink = 0
    if let file = try? _IndexFile(path: indexPath, entrySize: _OffsetIndex.entrySize, maxBytes: 0) {
        let index = _OffsetIndex(file: file, baseOffset: base)
        if index.isSane(logSize: Int(truncatingIfNeeded: int64(input, 1) & 0xFFFF_FFFF)) { sink &+= 1 }
        // Offsets a reader can ask for: from 0 (below the segment) up; never negative.
        for probe in [0, base, base + 1, Int64.max, max(0, int64(input, 1)), max(0, int64(input, split))] {
            sink &+= index.lookup(probe)
        }
        sink &+= Int(truncatingIfNeeded: index.lastOffset ?? 0)
    }
    if let file = try? _IndexFile(path: timeIndexPath, entrySize: _TimeIndex.entrySize, maxBytes: 0) {
        let index = _TimeIndex(file: file, baseOffset: base)
        if index.isSane(lastOffset: int64(input, split)) { sink &+= 1 }
        for probe in [Int64.min, -1, 0, Int64.max, int64(input, 1), int64(input, split)] {
            sink &+= Int(truncatingIfNeeded: index.lookup(probe))
        }
        sink &+= Int(truncatingIfNeeded: index.lastEntry?.offset ?? 0)
    }
    if let entries = try? LogInspector.offsetIndexEntries(indexPath) { sink &+= entries.count }
    if let entries = try? LogInspector.timeIndexEntries(timeIndexPath) { sink &+= entries.count }
    if sink == 0x5EED_F00D { print("") }
    return 0
}
