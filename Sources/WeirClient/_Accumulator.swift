import Synchronization
import WeirCompression
import WeirFormat
import WeirLog

/// One batch being filled or waiting to be sent. Owned by its partition's lock while open and
/// by the partition's single drainer afterwards, so it is never touched by two threads at once.
final class _Batch: @unchecked Sendable {
    let builder: RecordBatchBuilder
    var id: UInt64 = 0
    var createdNanos: Int64 = 0
    var reserved: Int = 0
    var waiters: [(index: Int32, timestamp: Int64, promise: _DeliveryPromise)] = []
    /// The records' opaques, only when the producer has a delivery handler.
    var opaques: [UInt64] = []

    init(builder: RecordBatchBuilder) { self.builder = builder }

    func recycle() {
        builder.reset()
        waiters.removeAll(keepingCapacity: true)
        opaques.removeAll(keepingCapacity: true)
    }
}

/// The awaitable result of one `send`: fulfilled by the drainer, awaited by the sender.
final class _DeliveryPromise: Sendable {
    struct State: ~Copyable {
        var result: Result<RecordMetadata, ClientError>? = nil
        var continuation: CheckedContinuation<Result<RecordMetadata, ClientError>, Never>? = nil
    }
    let state = Mutex(State())

    func fulfill(_ r: Result<RecordMetadata, ClientError>) {
        let c = state._withLock { s -> CheckedContinuation<Result<RecordMetadata, ClientError>, Never>? in
            if let c = s.continuation { s.continuation = nil; return c }
            s.result = r
            return nil
        }
        c?.resume(returning: r)
    }

    var value: Result<RecordMetadata, ClientError> {
        get async {
            await withCheckedContinuation { (c: CheckedContinuation<Result<RecordMetadata, ClientError>, Never>) in
                let r = state._withLock { s -> Result<RecordMetadata, ClientError>? in
                    if let r = s.result { return r }
                    s.continuation = c
                    return nil
                }
                if let r { c.resume(returning: r) }
            }
        }
    }
}

/// `buffer.memory`: bytes of batches the producer holds; `reserve` waits up to `max.block.ms`.
final class _BufferMemory: Sendable {
    struct State: ~Copyable {
        var available: Int
        var nextID: UInt64 = 0
        var waiters: [(id: UInt64, bytes: Int, continuation: CheckedContinuation<Bool, Never>)] = []
    }
    let total: Int
    let state: Mutex<State>

    init(total: Int) {
        self.total = total
        state = Mutex(State(available: total))
    }

    var available: Int { state._withLock { $0.available } }

    /// Reserves `bytes` if they are free now (and nobody waits before us).
    func tryReserve(_ bytes: Int) -> Bool {
        state._withLock { s in
            if s.waiters.isEmpty && s.available >= bytes { s.available -= bytes; return true }
            return false
        }
    }

    /// Reserves `bytes`, waiting up to `maxBlockMs`. Returns false on timeout.
    func reserve(_ bytes: Int, maxBlockMs: Int64) async -> Bool {
        let id: UInt64? = state._withLock { s in
            if s.waiters.isEmpty && s.available >= bytes { s.available -= bytes; return nil }
            s.nextID += 1
            return s.nextID
        }
        guard let id else { return true }
        if maxBlockMs == 0 { return false }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(maxBlockMs))
            if !Task.isCancelled { self?._expire(id) }
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let ready: Bool = state._withLock { s in
                if s.waiters.isEmpty && s.available >= bytes { s.available -= bytes; return true }
                s.waiters.append((id, bytes, c))
                return false
            }
            if ready { c.resume(returning: true) }
        }
    }

    private func _expire(_ id: UInt64) {
        let c = state._withLock { s -> CheckedContinuation<Bool, Never>? in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: i).continuation
        }
        c?.resume(returning: false)
        _wake()
    }

    func release(_ bytes: Int) {
        state._withLock { $0.available += bytes }
        _wake()
    }

    private func _wake() {
        let ready = state._withLock { s -> [CheckedContinuation<Bool, Never>] in
            var out: [CheckedContinuation<Bool, Never>] = []
            while let w = s.waiters.first, s.available >= w.bytes {
                s.available -= w.bytes
                out.append(w.continuation)
                s.waiters.removeFirst()
            }
            return out
        }
        for c in ready { c.resume(returning: true) }
    }
}

/// The accumulator of one partition: the open batch, the batches ready to send, and the
/// drainer flag (one drainer at a time sends them, in order).
final class _PartitionAccumulator: Sendable {
    struct State: ~Copyable {
        /// The batch being filled.
        var open: _Batch? {
            get { _open }
            set {
                _open = newValue
                openBuilder = newValue.map { Unmanaged.passUnretained($0.builder) }
            }
        }
        private var _open: _Batch? = nil
        /// The open batch's builder, unretained (the batch in `open` keeps it alive): the
        /// per-record path encodes into it without reference counting.
        private(set) var openBuilder: Unmanaged<RecordBatchBuilder>? = nil
        var ready: [_Batch] = []
        var draining = false
        var lingerTimerRunning = false
        var nextBatchID: UInt64 = 1
        var completedBatchID: UInt64 = 0
        var completionWaiters: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    }

    let topicPartition: TopicPartition
    let log: PartitionLog
    let codec: CompressionCodec
    /// The builder's size limit: `batch.size`, capped by `max.request.size` and the topic's
    /// `max.message.bytes`.
    let batchLimit: Int
    let state = Mutex(State())
    /// The next sequence number (idempotence); touched only by the drainer.
    let nextSequence = Atomic<Int32>(0)

    init(topicPartition: TopicPartition, log: PartitionLog, codec: CompressionCodec, batchLimit: Int) {
        self.topicPartition = topicPartition
        self.log = log
        self.codec = codec
        self.batchLimit = batchLimit
    }

    /// Moves the open batch to the ready queue (under the lock). Returns whether the caller
    /// must start a drainer.
    static func _closeOpen(_ s: inout State) -> Bool {
        if let o = s.open {
            s.open = nil
            s.ready.append(o)
        }
        if !s.draining && !s.ready.isEmpty {
            s.draining = true
            return true
        }
        return false
    }

    /// The id of the newest batch opened so far (0 when none).
    func _markFlush() -> (target: UInt64, startDrainer: Bool) {
        state._withLock { s in
            let start = _PartitionAccumulator._closeOpen(&s)
            return (s.nextBatchID - 1, start)
        }
    }

    /// Waits until every batch up to `id` has completed.
    func waitCompleted(_ id: UInt64) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done: Bool = state._withLock { s in
                if s.completedBatchID >= id { return true }
                s.completionWaiters.append((id, c))
                return false
            }
            if done { c.resume() }
        }
    }

    func _completed(_ id: UInt64) {
        let ready = state._withLock { s -> [CheckedContinuation<Void, Never>] in
            s.completedBatchID = max(s.completedBatchID, id)
            let done = s.completedBatchID
            var out: [CheckedContinuation<Void, Never>] = []
            s.completionWaiters.removeAll { w in
                if w.id <= done { out.append(w.continuation); return true }
                return false
            }
            return out
        }
        for c in ready { c.resume() }
    }
}
