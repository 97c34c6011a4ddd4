public import WeirFormat
public import WeirLog

/// One read of a partition at an isolation level: owned copies of the records, in offset order,
/// without control records (and, for `read_committed`, without aborted transactions).
public struct IsolatedRead: Sendable {
    public var records: [Record]
    /// The offset to read from next.
    public var nextOffset: Int64
    /// The bound of this read: the last stable offset (`read_committed`) or the high-water mark.
    public var limitOffset: Int64
    /// Control batches seen (transaction markers).
    public var controlBatches: Int
    /// Records skipped because their transaction was aborted.
    public var abortedRecordsSkipped: Int
}

extension PartitionLog {
    /// Reads records from `offset` at `isolation`, as a Kafka consumer sees them: with
    /// `read_committed`, only below the last stable offset, skipping the records of aborted
    /// transactions (using `abortedTransactions`, Kafka's `.txnindex` answer) and every control
    /// batch. The consumer builds on this.
    public func read(from offset: Int64, maxBytes: Int, isolation: IsolationLevel,
                     decoder: RecordBatchDecoder = RecordBatchDecoder()) throws(ClientError) -> IsolatedRead {
        let limit = isolation == .readCommitted ? lastStableOffset : highWatermark
        let r: LogReadResult
        do { r = try read(from: offset, maxBytes: maxBytes, maxOffset: limit) } catch { throw ClientError(error) }
        var out = IsolatedRead(records: [], nextOffset: r.nextOffset, limitOffset: limit, controlBatches: 0, abortedRecordsSkipped: 0)
        var aborted = isolation == .readCommitted ? abortedTransactions(from: offset, upTo: r.nextOffset).sorted { $0.firstOffset < $1.firstOffset } : []
        var abortedProducers = Set<Int64>()
        for b in r.batches {
            let h = b.header
            // Kafka's consumer: a producer's records are aborted from its aborted transaction's
            // first offset up to the abort marker.
            while let first = aborted.first, first.firstOffset <= h.lastOffset {
                abortedProducers.insert(first.producerId)
                aborted.removeFirst()
            }
            if h.attributes.isControl {
                out.controlBatches += 1
                if isolation == .readCommitted {
                    let isAbort: Bool = b.withUnsafeBytes { bytes in
                        var abort = false
                        try? decoder.forEachRecord(in: bytes) { (rec) throws(RecordBatchError) in
                            if let m = try? ControlRecord(rec), m.type == .abort { abort = true }
                        }
                        return abort
                    }
                    if isAbort { abortedProducers.remove(h.producerId) }
                }
                continue
            }
            if isolation == .readCommitted && h.attributes.isTransactional && abortedProducers.contains(h.producerId) {
                out.abortedRecordsSkipped += Int(h.recordCount)
                continue
            }
            do {
                try b.withUnsafeBytes { (bytes) throws(RecordBatchError) in
                    try decoder.forEachRecord(in: bytes) { (rec) throws(RecordBatchError) in
                        if rec.offset >= offset { out.records.append(Record(rec)) }
                    }
                }
            } catch {
                throw ClientError(.log, "\(topicPartition): the batch at offset \(h.baseOffset) cannot be decoded: \(error.message)")
            }
        }
        return out
    }
}
