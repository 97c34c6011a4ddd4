// The seam names partitions with the log's `TopicPartition`; re-exported so that a backend or a
// caller of the seam needs no import of the log.
@_exported public import struct WeirLog.TopicPartition
// The one monotonic clock lives in the log core, the lowest module that reads time; callers of
// the seam (the bench, the patterns) read it without an import of the log.
@_exported public import func WeirLog.monotonicNanos
@_exported public import struct WeirLog.MonotonicDeadline
// The one property table's declaration types live in the log core (a topic's properties are the
// first table); every table above it (producer, consumer, a bench workload) uses them from here.
@_exported public import struct WeirLog.PropertySpec
@_exported public import struct WeirLog.PropertyTable
@_exported public import struct WeirLog.PropertyRow
@_exported public import struct WeirLog.PropertyError
@_exported public import enum WeirLog.PropertyScope
