public import WeirFormat
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

    /// The record views of the whole fetch; this batch is `_records[_lower ..< _lower + count]`
    /// (a fetch split by `max.poll.records` shares one array between its batches).
    @usableFromInline let _records: [UnsafeRecordView]
    @usableFromInline let _lower: Int
    @usableFromInline let _count: Int
    /// One timestamp type per record, only when the fetch mixes them (empty otherwise).
    @usableFromInline let _types: [TimestampType]
    /// The timestamp type of every record when the fetch does not mix them.
    @usableFromInline let _type: TimestampType
    /// Keeps the segments mapped (the views of the fetch's batches).
    let _views: [RecordBatchView]
    /// Decompressed record batches, rebuilt as uncompressed batches.
    let _owned: [_OwnedBytes]

    init(topicPartition: TopicPartition, highWatermark: Int64, lastStableOffset: Int64, nextOffset: Int64,
         records: [UnsafeRecordView], lower: Int = 0, count: Int? = nil, types: [TimestampType], type: TimestampType,
         views: [RecordBatchView], owned: [_OwnedBytes]) {
        self.topicPartition = topicPartition
        self.highWatermark = highWatermark
        self.lastStableOffset = lastStableOffset
        self.nextOffset = nextOffset
        self._records = records
        self._lower = lower
        self._count = count ?? records.count - lower
        self._types = types
        self._type = type
        self._views = views
        self._owned = owned
    }

    public var topic: String { topicPartition.topic }
    public var partition: Int32 { topicPartition.partition }
    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { _count }
    @inlinable public var count: Int { _count }
    @inlinable public var isEmpty: Bool { _count == 0 }

    @inlinable
    public subscript(position: Int) -> ConsumerMessage {
        precondition(position >= 0 && position < _count, "ConsumerBatch index out of range")
        return _message(_lower &+ position)
    }

    @inlinable @inline(__always)
    func _message(_ i: Int) -> ConsumerMessage {
        ConsumerMessage(batch: Unmanaged.passUnretained(self), record: _records[i], timestampType: _types.isEmpty ? _type : _types[i])
    }

    /// Iterates the messages without per-record reference counting or index checks beyond the
    /// record array's own.
    public struct Iterator: IteratorProtocol {
        @usableFromInline let _batch: ConsumerBatch
        @usableFromInline var _i: Int
        @usableFromInline let _end: Int

        @inlinable init(_ batch: ConsumerBatch) {
            _batch = batch
            _i = batch._lower
            _end = batch._lower &+ batch._count
        }

        @inlinable @inline(__always)
        public mutating func next() -> ConsumerMessage? {
            guard _i < _end else { return nil }
            defer { _i &+= 1 }
            return _batch._message(_i)
        }
    }

    @inlinable public func makeIterator() -> Iterator { Iterator(self) }

    /// The first record's offset (nil for an empty batch).
    public var firstOffset: Int64? { _count == 0 ? nil : _records[_lower].offset }
    /// The last record's offset (nil for an empty batch).
    public var lastOffset: Int64? { _count == 0 ? nil : _records[_lower + _count - 1].offset }
    /// KafkaJS's `batch.offsetLag()`: high-water mark − 1 − last offset.
    public var offsetLag: Int64 { Swift.max(0, highWatermark - 1 - (lastOffset ?? (nextOffset - 1))) }

    /// Owned copies of every message.
    public func copyMessages() -> [ConsumerRecord] { map { $0.copy() } }

    /// Splits the batch into batches of at most `size` records (`max.poll.records`), sharing
    /// this batch's storage; each one's `nextOffset` is the offset after its last record, the
    /// last one's is this batch's.
    func _split(_ size: Int) -> [ConsumerBatch] {
        guard _count > size, size > 0 else { return [self] }
        var out: [ConsumerBatch] = []
        out.reserveCapacity((_count + size - 1) / size)
        var lo = 0
        while lo < _count {
            let n = Swift.min(size, _count - lo)
            let next = lo + n == _count ? nextOffset : _records[_lower + lo + n - 1].offset + 1
            out.append(ConsumerBatch(topicPartition: topicPartition, highWatermark: highWatermark, lastStableOffset: lastStableOffset,
                                     nextOffset: next, records: _records, lower: _lower + lo, count: n, types: _types, type: _type,
                                     views: _views, owned: _owned))
            lo += n
        }
        return out
    }
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
    ) throws(ClientError) -> ConsumerBatch {
        var types: [TimestampType] = []
        var firstType: TimestampType? = nil
        var owned: [_OwnedBytes] = []
        var next = start
        // An upper bound of the records to collect (a damaged count is bounded by the batch's
        // size), so the views go straight into one allocation: no growth, no uniqueness check
        // per record.
        var capacity = 0
        for b in batches where b.lastOffset >= start { capacity += Swift.min(Int(Swift.max(0, b.recordsCount)), b.size) }
        capacity = Swift.min(maxRecords, capacity)
        var failure: ClientError? = nil
        let records = [UnsafeRecordView](unsafeUninitializedCapacity: capacity) { buffer, count in
            do throws(ClientError) {
                batchLoop: for b in batches {
                    let header = b.header
                    if header.lastOffset < start { continue }
                    if count >= capacity { break }
                    if header.isControl || isAborted(header) {
                        next = Swift.max(next, header.nextOffset)
                        continue
                    }
                    let type = header.timestampType
                    if let t = firstType, t != type, types.isEmpty {
                        // Mixed timestamp types: one entry per record from here on.
                        types = Array(repeating: t, count: count)
                    }
                    if firstType == nil { firstType = type }
                    let before = count
                    let (complete, last) = try b.withUnsafeBytes { (raw) throws(ClientError) -> (Bool, Int64?) in
                        if checkCRCs {
                            do { _ = try RecordBatch.verify(raw) } catch {
                                throw ClientError(.corruptRecord, "\(tp): the batch at offset \(header.baseOffset) fails its CRC check (\(error)); the log is damaged, run `weir log verify`.")
                            }
                        }
                        var bytes = raw
                        if header.attributes.rawValue & RecordBatchAttributes.codecMask != 0 {
                            let o = try _inflate(raw, header, tp)
                            owned.append(o)
                            bytes = UnsafeRawBufferPointer(o.bytes)
                        }
                        return try Self._collect(bytes, from: start, tp, into: buffer, &count)
                    }
                    if !types.isEmpty || firstType != type { types.append(contentsOf: repeatElement(type, count: count - before)) }
                    if complete {
                        next = Swift.max(next, header.nextOffset)
                    } else {
                        if let last { next = Swift.max(next, last + 1) }
                        break batchLoop
                    }
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        // The views of every fetched batch keep the segments mapped (the same segments as those of
        // the batches with records taken, and no new array).
        return ConsumerBatch(topicPartition: tp, highWatermark: highWatermark, lastStableOffset: lastStableOffset,
                             nextOffset: next, records: records, types: types, type: firstType ?? .createTime, views: batches, owned: owned)
    }

    /// Writes the views of the records ≥ `start` into `buffer` from `count` on (up to its end);
    /// returns whether the whole batch was taken, and the last offset taken.
    static func _collect(_ bytes: UnsafeRawBufferPointer, from start: Int64, _ tp: TopicPartition,
                         into buffer: UnsafeMutableBufferPointer<UnsafeRecordView>, _ count: inout Int) throws(ClientError) -> (Bool, Int64?) {
        let limit = buffer.count
        var n = count
        defer { count = n }
        let r: Result<(Bool, Int64?), RecordBatchError> = UnsafeRecordIterator.withRecords(in: bytes, verifyingCRC: false) { it in
            var last: Int64? = nil
            do throws(RecordBatchError) {
                while let rec = try it.next() {
                    if rec.offset < start { continue }
                    if n >= limit { return .success((false, last)) }
                    (buffer.baseAddress.unsafelyUnwrapped + n).initialize(to: rec)
                    n &+= 1
                    last = rec.offset
                }
                return .success((true, last))
            } catch {
                return .failure(error)
            }
        }
        switch r {
        case .success(let v): return v
        case .failure(let e): throw ClientError(.corruptRecord, "\(tp): a record cannot be decoded (\(e.message)); the log is damaged, run `weir log verify`.")
        }
    }

    /// Decompresses a batch into owned memory, as an uncompressed batch with the same header.
    mutating func _inflate(_ raw: UnsafeRawBufferPointer, _ header: RecordBatchHeader, _ tp: TopicPartition) throws(ClientError) -> _OwnedBytes {
        guard let codec = header.codec else {
            throw ClientError(.corruptRecord, "\(tp): the batch at offset \(header.baseOffset) has an unknown codec.")
        }
        let i = Int(codec.rawValue)
        let d: Decompressor
        if let cached = decompressors[i] { d = cached } else {
            do { d = try Decompressor(codec: codec) } catch {
                throw ClientError(.corruptRecord, "\(tp): no \(codec) decompressor: \(error)")
            }
            decompressors[i] = d
        }
        scratch.removeAll(keepingCapacity: true)
        let section = UnsafeRawBufferPointer(rebasing: raw[RecordBatchLayout.headerSize..<header.totalSize])
        do { try d.decompress(section, appendingTo: &scratch) } catch {
            throw ClientError(.corruptRecord, "\(tp): the batch at offset \(header.baseOffset) cannot be decompressed (\(error)).")
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
