import ArgumentParser
import Foundation
import WeirFormat
import WeirLog

extension LogCommand {
    /// `weir log dump`: print the batches (and with --deep the records) of segment files, like
    /// kafka-dump-log.
    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the batches of .log segments or batch files (and with --deep each record); print .index/.timeindex entries.",
            discussion: "Exits 1 when a file holds an invalid batch (bad CRC, torn or corrupt bytes), after printing what it could."
        )

        @Argument(help: "Segment files (.log, .index, .timeindex) or files of back-to-back record batches.")
        var paths: [String]

        @Flag(help: "Print every record: offset, timestamp, key, value, headers.")
        var deep = false

        @Flag(help: "One JSON object per line (kind: batch, record, control, index, error); keys and values in base64.")
        var json = false

        func run() async throws {
            var invalid = false
            for path in paths {
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw CLIError.usage("cannot read '\(path)'; give segment files (.log, .index, .timeindex) or batch files")
                }
                if !json { print("Dumping \(path)") }
                let ok: Bool
                do {
                    if path.hasSuffix(".index") || path.hasSuffix(".timeindex") {
                        ok = try dumpIndex(path: path)
                    } else {
                        ok = try dumpBatches(path: path)
                    }
                } catch {
                    throw CLIError.failure("\(path): \(error.message)")
                }
                invalid = invalid || !ok
            }
            if invalid { throw CLIError(message: "invalid data found (see above)", exitCode: 1) }
        }

        /// Prints an index's entries, up to its preallocated tail (a zero timestamp in a
        /// `.timeindex`, a zero position in an `.index`, after the first entry), and says whether
        /// they are in order: timestamps never decreasing, offsets increasing.
        func dumpIndex(path: String) throws(LogError) -> Bool {
            let timeIndex = path.hasSuffix(".timeindex")
            let kind = timeIndex ? "timeindex" : "index"
            let names = timeIndex ? ("timestamp", "offset") : ("offset", "position")
            let entries: [(key: Int64, value: Int64)] = timeIndex
                ? try LogInspector.timeIndexEntries(path).map { ($0.timestamp, $0.offset) }
                : try LogInspector.offsetIndexEntries(path).map { ($0.offset, Int64($0.position)) }
            var ok = true
            var last: Int64 = timeIndex ? .min : -1
            for (i, e) in entries.enumerated() {
                if i > 0 && (timeIndex ? e.key : e.value) == 0 { break }  // preallocated, unused tail
                if timeIndex ? e.key < last : e.key <= last { ok = false }
                last = e.key
                if json {
                    var o = JSONLine(); o.add("kind", kind); o.add(names.0, e.key); o.add(names.1, e.value)
                    print(o.line)
                } else {
                    print("\(names.0): \(e.key) \(names.1): \(e.value)")
                }
            }
            if !ok { report(path: path, position: nil, message: "index entries are not in increasing order") }
            return ok
        }

        func report(path: String, position: Int?, message: String) {
            if json {
                var o = JSONLine()
                o.add("kind", "error"); o.add("file", path)
                if let position { o.add("position", position) }
                o.add("message", message)
                print(o.line)
            } else {
                printError("\(path): \(position.map { "at byte \($0): " } ?? "")\(message)")
            }
        }

        func dumpBatches(path: String) throws(LogError) -> Bool {
            let decoder = RecordBatchDecoder(checkCRCs: false)
            var ok = true
            let scan = try LogInspector.scanLogFile(path) { (batch, bytes) throws(LogError) in
                if !batch.isChecksumValid { ok = false }
                printBatch(batch.header, position: batch.position, crcValid: batch.isChecksumValid)
                guard deep else { return }
                do throws(RecordBatchError) {
                    try decoder.withRecords(in: bytes) { (records) throws(RecordBatchError) in
                        while let r = try records.next() { printRecord(r, header: batch.header) }
                    }
                } catch {
                    report(path: path, position: batch.position, message: "records of the batch at \(batch.position): \(error.message)")
                    ok = false
                }
            }
            if scan.zeroTailBytes > 0 && !json {
                print("(\(scan.zeroTailBytes) zero bytes of preallocated space at \(scan.validBytes))")
            }
            if let problem = scan.problem {
                report(path: path, position: scan.validBytes, message: problem)
                ok = false
            }
            return ok
        }

        func printBatch(_ h: RecordBatchHeader, position: Int, crcValid: Bool) {
            let codec = h.codec?.name ?? "unknown(\(h.attributes.rawValue & 7))"
            let tsType = h.timestampType == .logAppendTime ? "LogAppendTime" : "CreateTime"
            if json {
                var o = JSONLine()
                o.add("kind", "batch")
                o.add("base_offset", h.baseOffset); o.add("last_offset", h.lastOffset)
                o.add("count", Int64(h.recordCount)); o.add("position", position); o.add("size", h.totalSize)
                o.add("magic", Int64(h.magic)); o.add("codec", codec); o.add("crc", h.crc); o.add("crc_valid", crcValid)
                o.add("partition_leader_epoch", Int64(h.partitionLeaderEpoch))
                o.add("producer_id", h.producerId); o.add("producer_epoch", Int64(h.producerEpoch))
                o.add("base_sequence", Int64(h.baseSequence)); o.add("last_sequence", Int64(h.lastSequence))
                o.add("transactional", h.isTransactional); o.add("control", h.isControl)
                o.add("timestamp_type", tsType); o.add("base_timestamp", h.baseTimestamp); o.add("max_timestamp", h.maxTimestamp)
                print(o.line)
            } else {
                print(
                    "baseOffset: \(h.baseOffset) lastOffset: \(h.lastOffset) count: \(h.recordCount) "
                        + "baseSequence: \(h.baseSequence) lastSequence: \(h.lastSequence) producerId: \(h.producerId) "
                        + "producerEpoch: \(h.producerEpoch) partitionLeaderEpoch: \(h.partitionLeaderEpoch) "
                        + "isTransactional: \(h.isTransactional) isControl: \(h.isControl) position: \(position) "
                        + "\(tsType): \(h.maxTimestamp) size: \(h.totalSize) magic: \(h.magic) "
                        + "compresscodec: \(codec) crc: \(h.crc) isvalid: \(crcValid)")
            }
        }

        func printRecord(_ r: UnsafeRecordView, header: RecordBatchHeader) {
            if header.isControl, let control = try? ControlRecord(r) {
                let type: String
                switch control.type {
                case .commit: type = "COMMIT"
                case .abort: type = "ABORT"
                case .unknown(let v): type = "UNKNOWN(\(v))"
                }
                if json {
                    var o = JSONLine()
                    o.add("kind", "control"); o.add("offset", r.offset); o.add("timestamp", r.timestamp)
                    o.add("type", type); o.add("coordinator_epoch", Int64(control.coordinatorEpoch))
                    print(o.line)
                } else {
                    print("| offset: \(r.offset) \(header.timestampType == .logAppendTime ? "LogAppendTime" : "CreateTime"): \(r.timestamp) endTxnMarker: \(type) coordinatorEpoch: \(control.coordinatorEpoch)")
                }
                return
            }
            if json {
                var o = JSONLine()
                o.add("kind", "record"); o.add("offset", r.offset); o.add("timestamp", r.timestamp)
                o.add("key", base64(r.key)); o.add("value", base64(r.value))
                var hs: [String] = []
                for h in r.headers {
                    var ho = JSONLine()
                    ho.add("key", String(decoding: h.key, as: UTF8.self)); ho.add("value", base64(h.value))
                    hs.append(ho.line)
                }
                o.addRaw("headers", "[" + hs.joined(separator: ",") + "]")
                print(o.line)
            } else {
                var line = "| offset: \(r.offset) \(header.timestampType == .logAppendTime ? "LogAppendTime" : "CreateTime"): \(r.timestamp) "
                line += "keySize: \(r.key.map { $0.count } ?? -1) valueSize: \(r.value.map { $0.count } ?? -1) "
                if !r.headers.isEmpty {
                    line += "headers: " + r.headers.map { "\(String(decoding: $0.key, as: UTF8.self))=\(printable($0.value))" }.joined(separator: ",") + " "
                }
                line += "key: \(printable(r.key)) payload: \(printable(r.value))"
                print(line)
            }
        }
    }
}
