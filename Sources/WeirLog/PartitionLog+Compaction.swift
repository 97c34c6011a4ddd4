extension PartitionLog {
    /// Compacts the closed segments (`cleanup.policy=compact`). Returns how many segments were
    /// rewritten and how many records were removed.
    public func compact(now: Int64? = nil) throws(LogError) -> (segments: Int, records: Int) {
        (0, 0)
    }

    func _firstRecord(in batch: RecordBatchView, atOrAfter timestamp: Int64, minOffset: Int64) -> (offset: Int64, timestamp: Int64)? {
        (max(batch.baseOffset, minOffset), batch.maxTimestamp)
    }
}
