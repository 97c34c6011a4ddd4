#if canImport(Glibc)
import Glibc
#endif

extension RecordBatchView {
    /// A new descriptor for the batch's segment `.log` file (the caller closes it), for sending
    /// the batch's bytes with `sendfile` from `position` for `size` bytes (`weir serve`'s
    /// zero-copy Fetch, as Kafka's `FileChannel.transferTo`). The duplicate keeps the file's
    /// data reachable even if retention deletes the segment meanwhile; nil if `dup` fails.
    ///
    /// The corresponding C function is `dup`.
    public func duplicateSegmentFileDescriptor() -> Int32? {
        let fd = withExtendedLifetime(_segment) { dup(_segment.log.fd) }
        return fd >= 0 ? fd : nil
    }

    /// Whether two views lie in the same segment file (so their bytes can go out as one range).
    public func isInSameSegment(as other: RecordBatchView) -> Bool { _segment === other._segment }
}
