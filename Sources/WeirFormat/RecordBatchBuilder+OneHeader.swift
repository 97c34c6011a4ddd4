extension RecordBatchBuilder {
    /// Appends a record with exactly one header, given as borrowed bytes: the allocation-free
    /// path of a producer that tags each record (a load generator's send stamp). Returns false
    /// when the record does not fit, like `append(timestamp:key:value:)`.
    @inlinable @discardableResult
    public func append(timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                       headerKey: UnsafeRawBufferPointer, headerValue: UnsafeRawBufferPointer) -> Bool {
        let keyCount = headerKey.count, valueCount = headerValue.count
        let headersSize = 1 &+ _Varint.size(Int32(truncatingIfNeeded: keyCount)) &+ keyCount
            &+ _Varint.size(Int32(truncatingIfNeeded: valueCount)) &+ valueCount
        return _buffer.append(offsetDelta: nil, timestamp: timestamp, key: key, value: value, headersSize: headersSize) { pointer in
            var p = _Varint.write(Int32(1), to: pointer)
            p &+= _Varint.write(Int32(truncatingIfNeeded: keyCount), to: pointer + p)
            if let source = headerKey.baseAddress, keyCount > 0 { (pointer + p).copyMemory(from: source, byteCount: keyCount) }
            p &+= keyCount
            p &+= _Varint.write(Int32(truncatingIfNeeded: valueCount), to: pointer + p)
            if let source = headerValue.baseAddress, valueCount > 0 { (pointer + p).copyMemory(from: source, byteCount: valueCount) }
            return p &+ valueCount
        }
    }
}
