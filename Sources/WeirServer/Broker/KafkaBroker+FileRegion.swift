internal import WeirLog
internal import NIOCore
#if canImport(Glibc)
internal import Glibc
#endif

extension KafkaBroker {
    /// The batches of a read as slices of their segment files, for `sendfile` (Kafka's
    /// `FileChannel.transferTo`): consecutive batches of one segment become one slice. Each
    /// slice owns a duplicate of the segment's descriptor, closed once it is sent; nil when a
    /// descriptor cannot be had (the caller copies instead).
    static func fileSlices(_ result: LogReadResult) -> [KafkaRecords.FileSlice]? {
        var ranges: [(first: RecordBatchView, start: Int, end: Int)] = []
        for b in result.batches {
            if let last = ranges.last, last.first.isInSameSegment(as: b), last.end == b.position {
                ranges[ranges.count - 1].end = b.position + b.size
            } else {
                ranges.append((b, b.position, b.position + b.size))
            }
        }
        var slices: [KafkaRecords.FileSlice] = []
        for r in ranges {
            guard let fd = r.first.duplicateSegmentFileDescriptor() else {
                for s in slices { try? s.handle.close() }
                return nil
            }
            slices.append(KafkaRecords.FileSlice(handle: NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd),
                                                 offset: r.start, length: r.end - r.start))
        }
        return slices
    }
}
