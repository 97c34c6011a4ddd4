import Dispatch
import Synchronization
import WeirClientAPI

// The run modes on an existing topic (`weir bench produce`, `weir bench consume`, like
// kafka-producer-perf-test and kafka-consumer-perf-test) and the transactional producer.

extension LoadGenerator {
    /// The partition count of an existing `topic`; a usage error when it does not exist.
    func _existingTopic(_ topic: String) async throws(BenchError) -> Int {
        do {
            return try await client.partitionCount(topic)
        } catch {
            throw .usage("topic '\(topic)' does not exist on the \(client.backendName) backend: create it first (`weir topics create \(topic) --partitions N`, with `--log-dir DIR` for the embedded log), or give the log directory (--log-dir) or cluster (--bootstrap-servers) that has it. (\(error.message))")
        }
    }

    /// Consume-only: moves every member of every group to the start of its partitions and
    /// returns how many records the groups read in all: `records` per group, or what the
    /// topic holds now.
    func _rewind(_ groups: [(topic: String, members: [any MessageConsumer])], topic: String, partitions: Int, records: Int) async throws(BenchError) -> Int {
        for (_, members) in groups {
            for c in members {
                for tp in await c.assignment() {
                    do { try await c.seek(tp, to: 0) } catch { throw _benchError(error, "cannot seek \(tp.topic)-\(tp.partition) to its start") }
                }
            }
        }
        let ends: [TopicPartition: Int64]
        do { ends = try await client.endOffsets((0..<partitions).map { TopicPartition(topic, Int32($0)) }) } catch {
            throw _benchError(error, "cannot read the end offsets of '\(topic)'")
        }
        let held = Int(ends.values.reduce(0, +))
        return (records > 0 ? records : held) * groups.count
    }

    /// Consume-only: waits until the consumers read `target` records, or read nothing more
    /// for `idleNanos` (offsets that hold no record, such as transaction markers, make the
    /// end offsets count more records than there are), or `deadline` passes. Returns the end
    /// of the measured window (the last record read) and, when `exact`, how many were left.
    func _awaitConsumed(_ target: Int, shared: _Shared, until deadline: UInt64, idleNanos: UInt64 = 2_000_000_000,
                        exact: Bool) async -> (done: UInt64, left: Int) {
        var last = 0
        var lastAt = monotonicNanos()
        while true {
            let got = shared.consumed.load(ordering: .relaxed)
            let now = monotonicNanos()
            if got >= target { return (now, 0) }
            if got != last {
                last = got
                lastAt = now
            }
            let idle = got > 0 && now &- lastAt >= idleNanos
            if idle && !exact { return (lastAt, 0) }
            if idle || now >= deadline {
                progress("consume: \(target - got) of \(target) records not read (\(idle ? "no record for \(idleNanos / 1_000_000) ms" : "durationSeconds + drainTimeoutSeconds passed"))")
                return (got > 0 ? lastAt : now, target - got)
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// With `transactional.id`: a distinct id per producer (`ID-INDEX` when there are several),
    /// `initTransactions` and the first transaction begun.
    static func _transactional(_ producer: any MessageProducer, id: String) async throws(BenchError) -> any TransactionalMessageProducer {
        guard let t = producer as? any TransactionalMessageProducer else {
            throw .usage("transactional.id=\(id): this backend's producer has no transactions in Weir yet; run the transactional mode on the embedded log.")
        }
        do {
            try await t.initTransactions()
            try t.beginTransaction()
        } catch {
            throw _benchError(error, "cannot start transactions with transactional.id=\(id)")
        }
        return t
    }
}

/// Runs an async call to its end from a generator thread (which must not suspend).
func _blockOn(_ body: @escaping @Sendable () async throws(ClientError) -> Void) -> ClientError? {
    let done = DispatchSemaphore(value: 0)
    let failure = Mutex<ClientError?>(nil)
    Task {
        do throws(ClientError) { try await body() } catch { failure.withLock { $0 = error } }
        done.signal()
    }
    done.wait()
    return failure.withLock { $0 }
}
