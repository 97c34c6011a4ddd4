import WeirFormat
public import WeirLog
import WeirCompression

/// The records of one partition from one fetch, handed to an `eachBatch` handler (KafkaJS's
/// `batch`): a random-access collection of zero-copy `ConsumerMessage`s.
///
/// The batch keeps the log segments it points into mapped (and owns the decompressed bytes of
/// compressed record batches), so its messages stay valid for as long as the batch object lives;
/// its contents never change. Copy with `copyMessages()` what must outlive it.
public final class ConsumerBatch: RandomAccessCollection, @unchecked Sendable {
    public let topicPartition: TopicPartition
    /// The partition's high-water mark at fetch time.
    public let highWatermark: Int64
    /// The partition's last stable offset at fetch time.
    public let lastStableOffset: Int64
    /// The offset after the last record of this batch (control records and aborted
    /// transactions skipped): where the consumer's position moves to.
    public let nextOffset: Int64

    let _records: [UnsafeRecordView]
    let _types: [TimestampType]
    /// Keeps the segments mapped.
    let _views: [RecordBatchView]
    /// Decompressed record batches, rebuilt as uncompressed batches.
    let _owned: [_OwnedBytes]

    init(topicPartition: TopicPartition, highWatermark: Int64, lastStableOffset: Int64, nextOffset: Int64,
         records: [UnsafeRecordView], types: [TimestampType], views: [RecordBatchView], owned: [_OwnedBytes]) {
        self.topicPartition = topicPartition
        self.highWatermark = highWatermark
        self.lastStableOffset = lastStableOffset
        self.nextOffset = nextOffset
        self._records = records
        self._types = types
        self._views = views
        self._owned = owned
    }

    public var topic: String { topicPartition.topic }
    public var partition: Int32 { topicPartition.partition }
    public var startIndex: Int { 0 }
    public var endIndex: Int { _records.count }

    public subscript(position: Int) -> ConsumerMessage {
        ConsumerMessage(batch: Unmanaged.passUnretained(self), record: _records[position], timestampType: _types[position])
    }

    /// The first record's offset (nil for an empty batch).
    public var firstOffset: Int64? { _records.first?.offset }
    /// The last record's offset (nil for an empty batch).
    public var lastOffset: Int64? { _records.last?.offset }
    /// KafkaJS's `batch.offsetLag()`: high-water mark − 1 − last offset.
    public var offsetLag: Int64 { Swift.max(0, highWatermark - 1 - (lastOffset ?? (nextOffset - 1))) }

    /// Owned copies of every message.
    public func copyMessages() -> [ConsumerRecord] { map { $0.copy() } }
}

/// Heap bytes that a `ConsumerBatch` owns (a decompressed batch rebuilt without compression).
final class _OwnedBytes: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    init(count: Int) { bytes = .allocate(byteCount: count, alignment: 16) }
    deinit { bytes.deallocate() }
}

/// Turns fetched record batches into a `ConsumerBatch`.
struct _BatchDecoder {
    var decompressors: [Decompressor?] = Array(repeating: nil, count: 8)
    var scratch: [UInt8] = []

    /// Decodes `batches` of `tp` from `start`, at most `maxRecords` records, skipping control
    /// batches and (with `abortedAt`) aborted transactional batches.
    mutating func decode(
        _ tp: TopicPartition, batches: [RecordBatchView], from start: Int64, maxRecords: Int, checkCRCs: Bool,
        highWatermark: Int64, lastStableOffset: Int64, isAborted: (RecordBatchHeader) -> Bool
    ) throws(ConsumerError) -> ConsumerBatch {
        var records: [UnsafeRecordView] = []
        var types: [TimestampType] = []
        var owned: [_OwnedBytes] = []
        var used: [RecordBatchView] = []
        var next = start
        records.reserveCapacity(min(maxRecords, 1024))
        batchLoop: for b in batches {
            let header = b.header
            if header.lastOffset < start { continue }
            if records.count >= maxRecords { break }
            if header.isControl || isAborted(header) {
                next = max(next, header.nextOffset)
                continue
            }
            let (complete, last) = try b.withUnsafeBytes { (raw) throws(ConsumerError) -> (Bool, Int64?) in
                if checkCRCs {
                    do { _ = try RecordBatch.verify(raw) } catch {
                        throw ConsumerError(.corruptRecord, "\(tp): the batch at offset \(header.baseOffset) fails its CRC check (\(error)); the log is damaged, run `weir log verify`.")
                    }
                }
                var bytes = raw
                if header.attributes.rawValue & RecordBatchAttributes.codecMask != 0 {
                    let o = try _inflate(raw, header, tp)
                    owned.append(o)
                    bytes = UnsafeRawBufferPointer(o.bytes)
                }
                return try _collect(bytes, from: start, maxRecords: maxRecords, tp, &records, &types, header.timestampType)
            }
            used.append(b)
            if complete {
                next = max(next, header.nextOffset)
            } else {
                if let last { next = max(next, last + 1) }
                break batchLoop
            }
        }
        return ConsumerBatch(topicPartition: tp, highWatermark: highWatermark, lastStableOffset: lastStableOffset,
                             nextOffset: next, records: records, types: types, views: used, owned: owned)
    }

    /// Appends the views of the records ≥ `start`; returns whether the whole batch was taken.
    func _collect(_ bytes: UnsafeRawBufferPointer, from start: Int64, maxRecords: Int, _ tp: TopicPartition,
                  _ records: inout [UnsafeRecordView], _ types: inout [TimestampType], _ type: TimestampType) throws(ConsumerError) -> (Bool, Int64?) {
        let r: Result<(Bool, Int64?), RecordBatchError> = UnsafeRecordIterator.withRecords(in: bytes, verifyingCRC: false) { it in
            var last: Int64? = nil
            do throws(RecordBatchError) {
                while let rec = try it.next() {
                    if rec.offset < start { continue }
                    if records.count >= maxRecords { return .success((false, last)) }
                    records.append(rec)
                    types.append(type)
                    last = rec.offset
                }
                return .success((true, last))
            } catch {
                return .failure(error)
            }
        }
        switch r {
        case .success(let v): return v
        case .failure(let e): throw ConsumerError(.corruptRecord, "\(tp): a record cannot be decoded (\(e.message)); the log is damaged, run `weir log verify`.")
        }
    }

    /// Decompresses a batch into owned memory, as an uncompressed batch with the same header.
    mutating func _inflate(_ raw: UnsafeRawBufferPointer, _ header: RecordBatchHeader, _ tp: TopicPartition) throws(ConsumerError) -> _OwnedBytes {
        guard let codec = header.codec else {
            throw ConsumerError(.corruptRecord, "\(tp): the batch at offset \(header.baseOffset) has an unknown codec.")
        }
        let i = Int(codec.rawValue)
        let d: Decompressor
        if let cached = decompressors[i] { d = cached } else {
            do { d = try Decompressor(codec: codec) } catch {
                throw ConsumerError(.corruptRecord, "\(tp): no \(codec) decompressor: \(error)")
            }
            decompressors[i] = d
        }
        scratch.removeAll(keepingCapacity: true)
        let section = UnsafeRawBufferPointer(rebasing: raw[RecordBatchLayout.headerSize..<header.totalSize])
        do { try d.decompress(section, appendingTo: &scratch) } catch {
            throw ConsumerError(.corruptRecord, "\(tp): the batch at offset \(header.baseOffset) cannot be decompressed (\(error)).")
        }
        let o = _OwnedBytes(count: RecordBatchLayout.headerSize + scratch.count)
        var h = header
        h.attributes = RecordBatchAttributes(rawValue: header.attributes.rawValue & ~RecordBatchAttributes.codecMask)
        h.batchLength = Int32(RecordBatchLayout.headerSize - RecordBatchLayout.logOverhead + scratch.count)
        h.write(to: o.bytes.baseAddress!)
        scratch.withUnsafeBytes { s in
            if let base = s.baseAddress { (o.bytes.baseAddress! + RecordBatchLayout.headerSize).copyMemory(from: base, byteCount: s.count) }
        }
        return o
    }
}
