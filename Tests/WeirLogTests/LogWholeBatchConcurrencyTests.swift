import Foundation
import Synchronization
import Testing
import WeirFormat
@testable import WeirLog

/// Readers of the segment being appended to (and rolled) see only whole, valid batches below the
/// high-water mark, on every read path: sequential reads, reads at any offset (offset index),
/// lookups by timestamp (time index). `scripts/test` runs this suite under TSan.
@Suite struct LogWholeBatchConcurrencyTests {
    static let timestampBase: Int64 = 1_700_000_000_000

    /// One append: 1–3 batches back to back, 1–20 records each of 8–600 bytes, the record at
    /// offset `o` carrying `testValue(o)` and timestamp `timestampBase + o`. Some batches
    /// already carry their final base offset (the append then writes them unchanged), the rest
    /// carry 0 (the append supplies the offset).
    static func makeAppend(first: Int64, rng: inout SystemRandomNumberGenerator) -> [UInt8] {
        var out: [UInt8] = []
        var next = first
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let b = try! RecordBatchBuilder(codec: .none, batchSizeLimit: Int(Int32.max))
            let count = Int.random(in: 1...20, using: &rng)
            for i in 0..<count {
                let o = Int(next) + i
                b.append(timestamp: timestampBase + Int64(o), key: nil, value: testValue(o, size: Int.random(in: 8...600, using: &rng)))
            }
            if Bool.random(using: &rng) { b.baseOffset = next }
            out += try! b.build()
            next += Int64(count)
        }
        return out
    }

    /// What a reader checks in one read result; returns the first problem, or nil.
    static func check(_ r: LogReadResult, from offset: Int64, decoder: RecordBatchDecoder) -> String? {
        var expected: Int64? = nil
        for b in r.batches {
            if !b.isChecksumValid { return "a batch at position \(b.position) has an invalid CRC (torn or partly written)" }
            if let e = expected, b.baseOffset != e { return "batch base offset \(b.baseOffset), expected \(e)" }
            if expected == nil && !(b.baseOffset <= offset && offset <= b.lastOffset) && b.baseOffset != offset {
                return "the first batch [\(b.baseOffset), \(b.lastOffset)] does not hold offset \(offset)"
            }
            if b.lastOffset >= r.highWatermark { return "batch ending at \(b.lastOffset) at or above the high-water mark \(r.highWatermark)" }
            guard let records = try? b.withUnsafeBytes({ try decoder.decode($0).records }) else { return "a batch does not decode" }
            for rec in records where rec.value != testValue(Int(rec.offset), size: rec.value?.count ?? 0) {
                return "the value at offset \(rec.offset) is not the one appended"
            }
            expected = b.lastOffset + 1
        }
        return nil
    }

    @Test func readersOfTheActiveSegmentSeeOnlyWholeBatches() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        let dir = try LogDirectory.open(path: tmp.path, options: testOptions())
        try dir.createTopic("t", partitions: 1, config: smallConfig(segmentBytes: 48 << 10, indexIntervalBytes: 700))
        let log = try dir.partition("t", 0)
        let target: Int64 = 20_000
        let problems = Mutex<[String]>([])
        let writerDone = Atomic<Bool>(false)
        let group = DispatchGroup()

        func spawn(_ body: @escaping @Sendable () -> Void) {
            group.enter()
            Thread { body(); group.leave() }.start()
        }
        // The writer.
        spawn {
            var rng = SystemRandomNumberGenerator()
            while log.highWatermark < target {
                let bytes = Self.makeAppend(first: log.highWatermark, rng: &rng)
                do throws(LogError) {
                    try bytes._withBytes { (b) throws(LogError) in _ = try log.append(b) }
                } catch {
                    problems.withLock { $0.append("append failed: \(error)") }
                    break
                }
            }
            writerDone.store(true, ordering: .releasing)
        }
        // Sequential readers, tailing the writer.
        for _ in 0..<2 {
            spawn {
                let decoder = RecordBatchDecoder()
                var next: Int64 = 0
                while next < target && problems.withLock({ $0.isEmpty }) {
                    let done = writerDone.load(ordering: .acquiring)
                    guard let r = try? log.read(from: next, maxBytes: Int.random(in: 1...(16 << 10))) else {
                        problems.withLock { $0.append("read(from: \(next)) failed") }
                        return
                    }
                    if let p = Self.check(r, from: next, decoder: decoder) { problems.withLock { $0.append(p) }; return }
                    if r.batches.isEmpty {
                        if done && next >= log.highWatermark { return }
                        sched_yield()
                    }
                    next = r.nextOffset
                }
            }
        }
        // A reader at random offsets below the high-water mark, through both indexes.
        spawn {
            let decoder = RecordBatchDecoder()
            while !writerDone.load(ordering: .acquiring) && problems.withLock({ $0.isEmpty }) {
                let hwm = log.highWatermark
                guard hwm > 0 else { sched_yield(); continue }
                let o = Int64.random(in: 0..<hwm)
                guard let r = try? log.read(from: o, maxBytes: 4096) else {
                    problems.withLock { $0.append("read(from: \(o)) failed below the high-water mark \(hwm)") }
                    return
                }
                if r.batches.isEmpty { problems.withLock { $0.append("read(from: \(o)) below the high-water mark \(hwm) returned nothing") }; return }
                if let p = Self.check(r, from: o, decoder: decoder) { problems.withLock { $0.append(p) }; return }
                if let hit = log.offset(forTimestamp: Self.timestampBase + o), hit.offset != o {
                    problems.withLock { $0.append("offset(forTimestamp:) of offset \(o) found \(hit.offset)") }
                    return
                }
            }
        }
        group.wait()
        #expect(problems.withLock { $0 } == [])
        #expect(log.highWatermark >= target)
        #expect(log.segments.count > 3, "the test must roll segments while readers read")
        try dir.close()
    }
}
