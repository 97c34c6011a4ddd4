import Foundation
import Synchronization
public import WeirClient
public import WeirLog

/// Access to the state of a partition this member does not own.
public struct PartitionStateError: ClassifiedError, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The partition is not assigned to this member (never was, or was revoked or lost):
        /// the record belongs to another member now. Do not process it here; do not commit it.
        case notOwned
        /// The partition is assigned but its state failed to load (see the message).
        case loadFailed
    }

    public var code: Code
    public var message: String
    public var partition: TopicPartition

    public init(_ code: Code, _ message: String, partition: TopicPartition) {
        self.code = code
        self.message = message
        self.partition = partition
    }

    /// True: the partition's owner (after the rebalance, or after a reload) can handle the record.
    public var isRetriable: Bool { true }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// Per-partition state that follows the partition through rebalances, so a member never works
/// on a stale in-memory cache of a partition that moved (the "cache lost during rebalance"
/// pitfall).
///
/// Pass it as the rebalance listener of `MessageConsumer.subscribe`:
/// - **assigned**: the state of each new partition is loaded with `loader` (from SQLite, from a
///   compacted changelog topic, …) before the first record of the partition is polled;
/// - **revoked** (an orderly rebalance): the state is written with `flusher`, then dropped;
/// - **lost** (the member missed its session; the partition already belongs to another member):
///   the state is dropped without flushing, since the new owner may already have changed it.
///
/// `update(_:)`/`state(_:)` on a partition that is not owned throw `.notOwned`.
public final class PartitionStateStore<State: Sendable>: MessageRebalanceListener, Sendable {
    public typealias Loader = @Sendable (TopicPartition) async throws -> State
    public typealias Flusher = @Sendable (TopicPartition, State) async throws -> Void

    enum _Slot: Sendable {
        case loaded(State)
        case failed(String)
    }

    let _slots = Mutex<[TopicPartition: _Slot]>([:])
    let _counts = Mutex<Counts>(Counts())
    let loader: Loader
    let flusher: Flusher
    let onError: (@Sendable (TopicPartition, any Error) -> Void)?

    /// What the store did, for tests and metrics.
    public struct Counts: Sendable, Hashable {
        public var loads = 0
        public var flushes = 0
        public var dropsWithoutFlush = 0
        public var errors = 0
    }

    /// - Parameters:
    ///   - loader: loads a partition's state when it is assigned.
    ///   - flusher: writes a partition's state when it is revoked (and on `flushAll()`).
    ///   - onError: called when a load or a flush fails (the listener cannot throw).
    public init(loader: @escaping Loader, flusher: @escaping Flusher, onError: (@Sendable (TopicPartition, any Error) -> Void)? = nil) {
        self.loader = loader
        self.flusher = flusher
        self.onError = onError
    }

    public var counts: Counts { _counts.withLock { $0 } }

    /// The partitions whose state is loaded.
    public var ownedPartitions: [TopicPartition] {
        _slots.withLock { s in s.compactMap { if case .loaded = $0.value { $0.key } else { nil } } }
    }

    public func partitionsAssigned(_ partitions: [TopicPartition]) async {
        for tp in partitions {
            do {
                let state = try await loader(tp)
                _slots.withLock { $0[tp] = .loaded(state) }
                _counts.withLock { $0.loads += 1 }
            } catch {
                _slots.withLock { $0[tp] = .failed("\(error)") }
                _counts.withLock { $0.errors += 1 }
                onError?(tp, error)
            }
        }
    }

    public func partitionsRevoked(_ partitions: [TopicPartition]) async {
        for tp in partitions {
            guard let slot = _slots.withLock({ $0.removeValue(forKey: tp) }) else { continue }
            guard case .loaded(let state) = slot else { continue }
            do {
                try await flusher(tp, state)
                _counts.withLock { $0.flushes += 1 }
            } catch {
                _counts.withLock { $0.errors += 1 }
                onError?(tp, error)
            }
        }
    }

    public func partitionsLost(_ partitions: [TopicPartition]) async {
        let dropped = _slots.withLock { s in partitions.compactMap { s.removeValue(forKey: $0) }.count }
        _counts.withLock { $0.dropsWithoutFlush += dropped }
    }

    /// The state of `partition`.
    public func state(_ partition: TopicPartition) throws(PartitionStateError) -> State {
        try update(partition) { $0 }
    }

    /// Changes the state of `partition` in place and returns what `body` returns.
    public func update<R>(_ partition: TopicPartition, _ body: (inout State) -> R) throws(PartitionStateError) -> R {
        let r: Result<R, PartitionStateError> = _slots.withLock { s in
            switch s[partition] {
            case .loaded(var state)?:
                s[partition] = nil // no copy-on-write while body mutates
                let r = body(&state)
                s[partition] = .loaded(state)
                return .success(r)
            case .failed(let why)?:
                return .failure(PartitionStateError(.loadFailed, "the state of \(partition) failed to load (\(why)); fix the store, then let the partition be reassigned.", partition: partition))
            case nil:
                return .failure(PartitionStateError(.notOwned, "\(partition) is not assigned to this member (revoked, lost or never assigned); skip the record, its owner processes it.", partition: partition))
            }
        }
        return try r.get()
    }

    /// Writes the state of every owned partition (e.g. before committing offsets, or on shutdown).
    public func flushAll() async throws {
        let states = _slots.withLock { s in s.compactMap { kv -> (TopicPartition, State)? in if case .loaded(let st) = kv.value { (kv.key, st) } else { nil } } }
        for (tp, st) in states {
            try await flusher(tp, st)
            _counts.withLock { $0.flushes += 1 }
        }
    }
}

extension PartitionStateStore where State: Codable {
    /// A store whose state lives in SQLite as JSON, one row per partition, in `table`
    /// (created when missing): loaded on assignment (`initial` when there is no row), written
    /// on revocation.
    public static func sqlite(_ database: SQLiteDatabase, table: String = "partition_state", initial: State,
                              onError: (@Sendable (TopicPartition, any Error) -> Void)? = nil) throws(SQLiteError) -> PartitionStateStore<State> {
        try database.execute("CREATE TABLE IF NOT EXISTS \(table) (topic TEXT NOT NULL, partition INTEGER NOT NULL, state BLOB NOT NULL, PRIMARY KEY (topic, partition))")
        return PartitionStateStore(loader: { tp in
            let rows = try database.query("SELECT state FROM \(table) WHERE topic = ? AND partition = ?", [.text(tp.topic), .integer(Int64(tp.partition))])
            guard let bytes = rows.first?[0].bytes else { return initial }
            return try JSONDecoder().decode(State.self, from: Data(bytes))
        }, flusher: { tp, state in
            let bytes = Array(try JSONEncoder().encode(state))
            try database.run("INSERT INTO \(table) (topic, partition, state) VALUES (?, ?, ?) ON CONFLICT (topic, partition) DO UPDATE SET state = excluded.state",
                             [.text(tp.topic), .integer(Int64(tp.partition)), .blob(bytes)])
        }, onError: onError)
    }
}
