import ArgumentParser
import Foundation
import WeirFormat

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
                let data: Data
                do {
                    data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
                } catch {
                    throw CLIError.usage("cannot read '\(path)': \(error.localizedDescription)")
                }
                if !json { print("Dumping \(path)") }
                let ok: Bool
                if path.hasSuffix(".index") || path.hasSuffix(".timeindex") {
                    ok = dumpIndex(path: path, data: data)
                } else {
                    ok = data.withUnsafeBytes { dumpBatches(path: path, bytes: $0) }
                }
                invalid = invalid || !ok
            }
            if invalid { throw CLIError(message: "invalid data found (see above)", exitCode: 1) }
        }

        /// The base offset in a Kafka segment file name (`00000000000000001234.index`), or 0.
        func baseOffset(of path: String) -> Int64 {
            let name = (path as NSString).lastPathComponent
            return Int64(name.prefix { $0.isNumber }) ?? 0
        }

        func dumpIndex(path: String, data: Data) -> Bool {
            let isTime = path.hasSuffix(".timeindex")
            let entrySize = isTime ? 12 : 8
            let base = baseOffset(of: path)
            var ok = data.count % entrySize == 0
            data.withUnsafeBytes { raw in
                var i = 0
                var lastOffset: Int64 = -1
                while i + entrySize <= raw.count {
                    if isTime {
                        let ts = Int64(bigEndian: raw.loadUnaligned(fromByteOffset: i, as: Int64.self))
                        let rel = Int32(bigEndian: raw.loadUnaligned(fromByteOffset: i + 8, as: Int32.self))
                        if ts == 0 && rel == 0 && i > 0 { break }  // preallocated, unused tail
                        let offset = base + Int64(rel)
                        if offset < lastOffset { ok = false }
                        lastOffset = offset
                        if json {
                            var o = JSONLine(); o.add("kind", "timeindex"); o.add("timestamp", ts); o.add("offset", offset)
                            print(o.line)
                        } else {
                            print("timestamp: \(ts) offset: \(offset)")
                        }
                    } else {
                        let rel = Int32(bigEndian: raw.loadUnaligned(fromByteOffset: i, as: Int32.self))
                        let pos = Int32(bigEndian: raw.loadUnaligned(fromByteOffset: i + 4, as: Int32.self))
                        if rel == 0 && pos == 0 && i > 0 { break }
                        let offset = base + Int64(rel)
                        if offset <= lastOffset { ok = false }
                        lastOffset = offset
                        if json {
                            var o = JSONLine(); o.add("kind", "index"); o.add("offset", offset); o.add("position", Int64(pos))
                            print(o.line)
                        } else {
                            print("offset: \(offset) position: \(pos)")
                        }
                    }
                    i += entrySize
                }
            }
            if !ok { report(path: path, position: nil, message: "index entries are not increasing or the file size is not a multiple of \(entrySize)") }
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

        func dumpBatches(path: String, bytes: UnsafeRawBufferPointer) -> Bool {
            var iterator = RecordBatchIterator(bytes, verifyingCRC: false)
            let decoder = RecordBatchDecoder(checkCRCs: false)
            var ok = true
            while true {
                let next: (position: Int, header: RecordBatchHeader)?
                do {
                    next = try iterator.next()
                } catch {
                    // A preallocated zero tail after the last batch is not corruption.
                    let rest = UnsafeRawBufferPointer(rebasing: bytes[iterator.position...])
                    if rest.allSatisfy({ $0 == 0 }) {
                        if !json { print("(\(rest.count) zero bytes of preallocated space at \(iterator.position))") }
                        break
                    }
                    report(path: path, position: iterator.position, message: error.message)
                    ok = false
                    break
                }
                guard let (position, header) = next else { break }
                let batch = iterator.bytes(at: position, header: header)
                let crcValid = RecordBatch.computeCRC(batch, totalSize: header.totalSize) == header.crc
                if !crcValid { ok = false }
                printBatch(header, position: position, crcValid: crcValid)
                if deep {
                    do {
                        try decoder.withRecords(in: batch) { (records) throws(RecordBatchError) in
                            while let r = try records.next() { printRecord(r, header: header) }
                        }
                    } catch {
                        report(path: path, position: position, message: "records of the batch at \(position): \(error.message)")
                        ok = false
                    }
                }
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
