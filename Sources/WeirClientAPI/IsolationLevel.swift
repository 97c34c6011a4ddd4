/// Kafka's consumer `isolation.level`.
public enum IsolationLevel: String, Sendable, Hashable, CaseIterable {
    /// Every record up to the high-water mark, aborted ones included.
    case readUncommitted = "read_uncommitted"
    /// Records up to the last stable offset, without aborted transactions and control records.
    case readCommitted = "read_committed"
}
