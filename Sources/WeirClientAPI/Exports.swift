// The seam names partitions with the log's `TopicPartition`; re-exported so that a backend or a
// caller of the seam needs no import of the log.
@_exported public import struct WeirLog.TopicPartition
// The one monotonic clock lives in the log core, the lowest module that reads time; callers of
// the seam (the bench, the patterns) read it without an import of the log.
@_exported public import func WeirLog.monotonicNanos
