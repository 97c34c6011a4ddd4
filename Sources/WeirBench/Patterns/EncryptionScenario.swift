import Foundation
import Synchronization
import WeirClient
import WeirPatterns
import WeirLog

// The `encryption` scenario: records go through `EncryptingProducer` (AES-256-GCM with a
// random nonce, key id header, bound headers) and are decrypted by `MessageCipher` before the
// consumer hands the plaintext to the generator, so publish and end-to-end latency include
// both. `pattern.encrypt=false` runs the same client path without encryption: the baseline.

extension PatternScenario {
    static let encryption = PatternScenario(
        name: "encryption",
        summary: "AES-256-GCM message encryption (EncryptingProducer + MessageCipher.decrypt) against the same client path in plaintext",
        options: [("encrypt", "true | false (default true): encrypt before send, decrypt before the consumer reports"),
                  ("inFlight", "concurrent sends per producer (default 256)")],
        presets: [
            Preset(name: "encryption", summary: "plaintext vs AES-256-GCM at 20k rec/s, 1 KiB, acks=1: publish and end-to-end include encryption and decryption; embedded",
                   steps: [("plaintext", "false"), ("aes-256-gcm", "true")].map { (name, encrypt) in
                       Preset.step(named: name) {
                           $0.pattern = "encryption"; $0.patternOptions = ["encrypt": encrypt]
                           $0.partitionsPerTopic = 4; $0.producerRate = 20_000; $0.messageSize = 1024; $0.payload = .json
                           // acks=1: the steps compare encryption, not fsync (acks=all waits for a group commit).
                           $0.warmupSeconds = 2; $0.durationSeconds = 10; $0.config = ["linger.ms": "1", "acks": "1", "enable.idempotence": "false"]
                       }
                   }),
        ],
        wrap: { workload, backend, client async throws(BenchError) in
            let options = _PatternOptions(workload)
            let encrypt = try options.bool("encrypt", true)
            let inFlight = try options.int("inFlight", 256, 1...4096)
            let cipher = encrypt ? MessageCipher(keyring: .generate(keyId: "bench-1")) : nil
            let producerProps = _producerProperties(workload)
            return _PatternBackend(base: backend, makeProducer: { topic, index, sink async throws(BenchError) in
                let base: any MessageProducer
                do throws(ClientError) { base = try await client.makeProducer(properties: producerProps) } catch {
                    throw BenchError(.backend, "cannot create a producer: \(error.message)")
                }
                let producer: any MessageProducer = cipher.map { EncryptingProducer(base, keyring: $0.keyring) } ?? base
                return _LanedBenchProducer(lanes: inFlight, sink: sink, send: { _, key, value in
                    do {
                        _ = try await producer.send(ProducerRecord(topic: topic, key: key, value: value))
                        return true
                    } catch { return false }
                }, close: { await producer.close() })
            }, makeConsumer: { topic, group, member, members async throws(BenchError) in
                let consumer = try await _PatternConsumer.assignedAtEnd(client, topic: topic, group: nil, member: member, members: members)
                return _PatternConsumer(fetch: {
                    let records = try await consumer.poll(timeout: .milliseconds(100))
                    guard let cipher else { return records.map { $0.value ?? [] } }
                    return try records.map { r throws(EncryptionError) in try cipher.decrypt(r).value ?? [] }
                }, close: { await consumer.close() })
            })
        })
}

// MARK: - The client-path bridges of the encryption and event-sourcing scenarios

/// A step's backend with the pattern's own producers and consumers; topics, statistics and
/// shutdown go to the wrapped backend.
struct _PatternBackend: BenchBackend {
    let base: any BenchBackend
    let makeProducer: @Sendable (_ topic: String, _ index: Int, _ sink: DeliverySink) async throws(BenchError) -> any BenchProducer
    let makeConsumer: @Sendable (_ topic: String, _ group: String, _ member: Int, _ members: Int) async throws(BenchError) -> any BenchConsumer
    var onShutdown: @Sendable () async -> Void = {}

    var name: String { base.name }
    func createTopics(_ names: [String], partitions: Int) async throws(BenchError) { try await base.createTopics(names, partitions: partitions) }
    func makeProducer(topic: String, index: Int, sink: DeliverySink) async throws(BenchError) -> any BenchProducer {
        try await makeProducer(topic, index, sink)
    }
    func makeConsumer(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> any BenchConsumer {
        try await makeConsumer(topic, group, member, members)
    }
    func statistics() async -> BackendStatistics { await base.statistics() }
    func shutdown() async {
        await onShutdown()
        await base.shutdown()
    }
    func details() async -> [String: String] { await base.details() }
}

/// A `BenchProducer` over an async send: the generator's thread stamps the value and queues it;
/// `lanes` tasks send concurrently, each lane in order (lane = sequence number % lanes); one
/// task reports the acknowledgements to the sink (which takes one writer).
final class _LanedBenchProducer: BenchProducer {
    struct _Item: Sendable {
        var key: [UInt8]?
        var value: [UInt8]
        var intended: UInt64
    }

    struct _Result: Sendable {
        var intended: UInt64
        var bytes: Int
        var ok: Bool
        var at: UInt64
    }

    let lanes: [AsyncStream<_Item>.Continuation]
    let results: AsyncStream<_Result>.Continuation
    let tasks: Mutex<[Task<Void, Never>]>
    let reporter: Task<Void, Never>
    let counts = _Counters()
    let closeBase: @Sendable () async -> Void
    static let maxQueued = 1 << 15

    final class _Counters: Sendable {
        let queued = Atomic<Int>(0)
        let completed = Atomic<Int>(0)
        let sequence = Atomic<Int>(0)
        let closed = Atomic<Bool>(false)
    }

    /// `send(lane, key, value)` returns whether the record was acknowledged.
    init(lanes count: Int, sink: DeliverySink, send: @escaping @Sendable (_ lane: Int, _ key: [UInt8]?, _ value: [UInt8]) async -> Bool,
         close: @escaping @Sendable () async -> Void) {
        let (resultStream, results) = AsyncStream<_Result>.makeStream()
        self.results = results
        reporter = Task.detached {
            for await r in resultStream {
                if r.ok { sink.delivered(intendedNanos: r.intended, bytes: r.bytes, at: r.at) } else { sink.failed(1) }
            }
        }
        var continuations: [AsyncStream<_Item>.Continuation] = []
        var laneTasks: [Task<Void, Never>] = []
        let counts = self.counts
        for lane in 0..<count {
            let (stream, c) = AsyncStream<_Item>.makeStream()
            continuations.append(c)
            laneTasks.append(Task.detached {
                for await item in stream {
                    let ok = await send(lane, item.key, item.value)
                    results.yield(_Result(intended: item.intended, bytes: item.value.count + (item.key?.count ?? 0), ok: ok, at: monotonicNanos()))
                    counts.completed.add(1, ordering: .relaxed)
                }
            })
        }
        self.lanes = continuations
        self.tasks = Mutex(laneTasks)
        self.closeBase = close
    }

    func send(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, intendedNanos: UInt64, sentNanos: UInt64) {
        while counts.queued.load(ordering: .relaxed) - counts.completed.load(ordering: .relaxed) >= Self.maxQueued { sleepNanos(50_000) }
        counts.queued.add(1, ordering: .relaxed)
        let n = counts.sequence.add(1, ordering: .relaxed).oldValue
        lanes[n % lanes.count].yield(_Item(key: key.map { Array($0) }, value: BenchStamp.stampedCopy(of: value, nanos: intendedNanos), intended: intendedNanos))
    }

    func flush() async {
        while counts.completed.load(ordering: .relaxed) < counts.queued.load(ordering: .relaxed) {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    func close() async {
        if counts.closed.exchange(true, ordering: .relaxed) { return }
        await flush()
        for c in lanes { c.finish() }
        for t in tasks.withLock({ $0 }) { await t.value }
        results.finish()
        await reporter.value
        await closeBase()
    }
}
