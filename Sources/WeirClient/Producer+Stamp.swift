public import WeirClientAPI
import WeirFormat

extension Producer {
    /// `produceNow` with one `SendStamp` header (`weir.stamp`, 8 bytes), written into the batch
    /// without an allocation: the load generator's path. The value is sent unchanged.
    @discardableResult
    public func produceNow(topic: String, partition: Int32? = nil, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                           timestamp: Int64?, stamp: UInt64, opaque: UInt64) throws(ClientError) -> UInt64 {
        let size = 21 + (key?.count ?? 0) + (value?.count ?? 0) + 10 + SendStamp.headerKeyBytes.count + SendStamp.size
        let stampBig = stamp.bigEndian
        let result = withUnsafeBytes(of: stampBig) { stampBytes in
            SendStamp.headerKeyBytes.withUnsafeBytes { headerKey in
                Result { () throws(ClientError) -> UInt64 in
                    try _produceNow(topic: topic, partition: partition, key: key, size: size, timestamp: timestamp, opaque: opaque) { b, ts in
                        b._withUnsafeGuaranteedRef { $0.append(timestamp: ts, key: key, value: value, headerKey: headerKey, headerValue: stampBytes) }
                    }
                }
            }
        }
        return try result.get()
    }

    /// The thread path shared by the `produceNow` variants: `write` encodes the record into the
    /// partition's open batch at timestamp `ts`.
    @inline(__always)
    func _produceNow(topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, size: Int, timestamp: Int64?, opaque: UInt64,
                     _ write: (Unmanaged<RecordBatchBuilder>, Int64) -> Bool) throws(ClientError) -> UInt64 {
        let t = try _checkedTopic(topic, size: size)
        let (p, sticky) = try _choosePartition(partition, key, t)
        var send = _send(t, p, sticky, size: size, timestamp: timestamp, opaque: opaque)
        try _attemptBlocking(&send, write)
        return send.id
    }
}

extension Producer: TransactionalMessageProducer {}

extension Producer: AppendStallingProducer {
    /// Holds every append of this producer back while `stalled` (the bench's `stallAppends`
    /// fault): batches wait in the buffer as they would behind a stalled disk.
    public func stallAppends(_ stalled: Bool) {
        _appendStalled.store(stalled, ordering: .relaxed)
    }
}
