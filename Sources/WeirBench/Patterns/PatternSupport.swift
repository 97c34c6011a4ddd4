import Foundation
import Synchronization
import WeirClient
import WeirPatterns
import WeirLog

// What every pattern scenario of this folder shares: options, the bridge from the client
// protocols' async consumers to the generator's consumer threads, and delivery helpers.

/// The workload's producer properties (`--config` keys the producer knows).
func _producerProperties(_ w: Workload) -> [String: String] {
    let known = Set(ProducerConfiguration.knownKeys).union(ProducerConfiguration.aliases.keys)
    return w.config.filter { known.contains($0.key) }
}


/// A scenario's `pattern.KEY` options, read with defaults and ranges.
struct _PatternOptions {
    let values: [String: String]

    init(_ workload: Workload) { values = workload.patternOptions ?? [:] }

    func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(BenchError) -> Int {
        guard let text = values[key] else { return fallback }
        guard let v = Int(text), range.contains(v) else {
            throw .usage("pattern.\(key)=\(text) is out of range; allowed \(range.lowerBound)...\(range.upperBound).")
        }
        return v
    }

    func double(_ key: String, _ fallback: Double, _ range: ClosedRange<Double>) throws(BenchError) -> Double {
        guard let text = values[key] else { return fallback }
        guard let v = Double(text), range.contains(v) else {
            throw .usage("pattern.\(key)=\(text) is out of range; allowed \(range.lowerBound)...\(range.upperBound).")
        }
        return v
    }

    func bool(_ key: String, _ fallback: Bool) throws(BenchError) -> Bool {
        guard let v = values[key] else { return fallback }
        switch v.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .usage("pattern.\(key)=\(v) is not valid; allowed values true, false.")
        }
    }

    func choice(_ key: String, _ fallback: String, _ allowed: [String]) throws(BenchError) -> String {
        guard let v = values[key] else { return fallback }
        guard allowed.contains(v) else { throw .usage("pattern.\(key)=\(v) is not valid; allowed: \(allowed.joined(separator: ", ")).") }
        return v
    }

    /// A SQLite database with `schema` in a fresh directory (which the backend removes at its
    /// shutdown).
    static func openDatabase(_ scenario: String, schema: String) throws(BenchError) -> (directory: String, db: SQLiteDatabase) {
        let directory = NSTemporaryDirectory() + "weir-bench-\(scenario)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let db = try SQLiteDatabase(path: directory + "/\(scenario).db")
            try db.execute(schema)
            return (directory, db)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw BenchError(.backend, "\(scenario) scenario: cannot open its SQLite database in \(directory): \(error.message)")
        }
    }
}

/// A bench consumer fed by an async pump over the client protocols: the pump hands values to
/// `deliver` (from its task); `poll` (the generator's consumer thread) passes them to its body.
final class _PatternConsumer: BenchConsumer, @unchecked Sendable {
    let queue = Mutex<[[UInt8]]>([])
    let stop = Atomic<Bool>(false)
    var task: Task<Void, Never>?
    let closeBase: @Sendable () async -> Void

    /// `close` runs after the pump returned (release the pump's own clients there).
    init(pump: @escaping @Sendable (_ deliver: @escaping @Sendable ([UInt8]) -> Void, _ stopped: @escaping @Sendable () -> Bool) async -> Void,
         close: @escaping @Sendable () async -> Void = {}) {
        closeBase = close
        task = Task.detached { [self] in
            await pump({ v in self.queue.withLock { $0.append(v) } }, { self.stop.load(ordering: .relaxed) })
        }
    }

    /// A pump that calls `fetch` in a loop and delivers what it returns (a failed fetch is
    /// retried after 1 ms).
    convenience init(fetch: @escaping @Sendable () async throws -> [[UInt8]], close: @escaping @Sendable () async -> Void) {
        self.init(pump: { deliver, stopped in
            while !stopped() {
                do {
                    for v in try await fetch() { deliver(v) }
                } catch {
                    try? await Task.sleep(for: .milliseconds(1))
                }
            }
        }, close: close)
    }

    func poll(timeoutNanos: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        let deadline = monotonicNanos() &+ timeoutNanos
        var idle = 0
        while true {
            let values = queue.withLock { q -> [[UInt8]] in
                defer { q.removeAll(keepingCapacity: true) }
                return q
            }
            if !values.isEmpty {
                for v in values { v.withUnsafeBytes { body($0) } }
                return values.count
            }
            if monotonicNanos() >= deadline { return 0 }
            idle += 1
            sleepNanos(UInt64(min(200_000, 10_000 << min(idle, 5))))
        }
    }

    func close() async {
        stop.store(true, ordering: .relaxed)
        await task?.value
        await closeBase()
    }

    /// A consumer (of `group`, or without a group when nil) holding the partitions `p % members == member` of `topic`,
    /// positioned at their current end (as the generator's consumers are).
    static func assignedAtEnd(_ client: any MessagingClient, topic: String, group: String?, member: Int, members: Int) async throws(BenchError) -> any MessageConsumer {
        do {
            let n = try await client.partitionCount(topic)
            let mine = (0..<n).filter { $0 % members == member }.map { TopicPartition(topic, Int32($0)) }
            let ends = try await client.endOffsets(mine)
            var properties = ["auto.offset.reset": "latest", "enable.auto.commit": "false"]
            if let group { properties["group.id"] = group }
            let consumer = try await client.makeConsumer(properties: properties)
            try await consumer.assign(mine)
            for tp in mine { try await consumer.seek(tp, to: ends[tp] ?? 0) }
            return consumer
        } catch {
            throw BenchError(.backend, "cannot consume '\(topic)': \(error.message)")
        }
    }
}

/// The last error a background task reported, for `details()`.
final class _LastError: Sendable {
    let message = Mutex<String?>(nil)
    func set(_ m: String) { message.withLock { $0 = m } }
    var value: String? { message.withLock { $0 } }
}

/// Serialises a `DeliverySink` (whose calls must come from one thread at a time) for
/// acknowledgements that arrive on several tasks.
final class _SerialSink: Sendable {
    let sink: Mutex<DeliverySink>

    init(_ sink: DeliverySink) { self.sink = Mutex(sink) }

    func delivered(intendedNanos: UInt64, bytes: Int) {
        sink.withLock { $0.delivered(intendedNanos: intendedNanos, bytes: bytes) }
    }

    func failed(_ count: Int) {
        sink.withLock { $0.failed(count) }
    }
}
