// The seam names partitions with the log's `TopicPartition`; re-exported so that a backend or a
// caller of the seam needs no import of the log.
@_exported public import struct WeirLog.TopicPartition
