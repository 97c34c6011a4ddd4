import Foundation
import Synchronization
import WeirClientAPI
import WeirPatterns

// The `encryption` scenario: records go through `EncryptingProducer` (AES-256-GCM with a
// random nonce, key id header, bound headers) and are decrypted by `MessageCipher` before the
// consumer hands the plaintext to the generator, so publish and end-to-end latency include
// both. `pattern.encrypt=false` runs the same client path without encryption: the baseline.

extension PatternScenario {
    static let encryption = PatternScenario(
        .encryption,
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
        wrap: { workload, client async throws(BenchError) in
            let options = _PatternOptions(workload)
            let encrypt = try options.bool("encrypt", true)
            let inFlight = try options.int("inFlight", 256, 1...4096)
            let cipher = encrypt ? MessageCipher(keyring: .generate(keyId: "bench-1")) : nil
            let producerProps = _producerProperties(workload)
            let members = workload.consumerPerSubscription
            var scenario = _ScenarioClient(base: client)
            scenario.makeProducer = { _, onDelivery async throws(BenchError) in
                let base: any MessageProducer
                do throws(ClientError) { base = try await client.makeProducer(properties: producerProps) } catch {
                    throw BenchError(.backend, "cannot create a producer: \(error.message)")
                }
                let producer: any MessageProducer = cipher.map { EncryptingProducer(base, keyring: $0.keyring) } ?? base
                return _LanedProducer(lanes: inFlight, onDelivery: onDelivery, send: { _, topic, key, value in
                    do {
                        _ = try await producer.send(ProducerRecord(topic: topic, key: key, value: value))
                        return true
                    } catch { return false }
                }, close: { await producer.close() })
            }
            scenario.makeFeed = { topic, _, member async throws(BenchError) in
                let consumer = try await _PatternConsumer.assignedAtEnd(client, topic: topic, group: nil, member: member, members: members)
                let feed = _PatternConsumer(fetch: {
                    let records = try await consumer.poll(timeout: .milliseconds(100))
                    guard let cipher else { return records.map { $0.value ?? [] } }
                    return try records.map { r throws(EncryptionError) in try cipher.decrypt(r).value ?? [] }
                }, close: { await consumer.close() })
                return (feed, await consumer.assignment())
            }
            return scenario
        })
}

// MARK: - The client-path bridges of the encryption and event-sourcing scenarios

/// A producer over an async send, for the generator's thread path: `produceNow` queues a copy
/// of the record; `lanes` tasks send concurrently, each lane in order (lane = sequence number %
/// lanes), and report each outcome to the delivery handler. The generator bounds what is in
/// flight.
final class _LanedProducer: MessageProducer {
    struct _Item: Sendable {
        var topic: String
        var key: [UInt8]?
        var value: [UInt8]
        var opaque: UInt64
    }

    let lanes: [AsyncStream<_Item>.Continuation]
    let tasks: Mutex<[Task<Void, Never>]>
    let counts = _Counters()
    let closeBase: @Sendable () async -> Void

    final class _Counters: Sendable {
        let queued = Atomic<Int>(0)
        let completed = Atomic<Int>(0)
        let sequence = Atomic<Int>(0)
        let closed = Atomic<Bool>(false)
    }

    /// `send(lane, topic, key, value)` returns whether the record was acknowledged.
    init(lanes count: Int, onDelivery: DeliveryHandler?, send: @escaping @Sendable (_ lane: Int, _ topic: String, _ key: [UInt8]?, _ value: [UInt8]) async -> Bool,
         close: @escaping @Sendable () async -> Void) {
        var continuations: [AsyncStream<_Item>.Continuation] = []
        var laneTasks: [Task<Void, Never>] = []
        let counts = self.counts
        for lane in 0..<count {
            let (stream, c) = AsyncStream<_Item>.makeStream()
            continuations.append(c)
            laneTasks.append(Task.detached {
                for await item in stream {
                    let ok = await send(lane, item.topic, item.key, item.value)
                    _report(onDelivery, topic: item.topic, opaques: [item.opaque], ok: ok)
                    counts.completed.add(1, ordering: .relaxed)
                }
            })
        }
        self.lanes = continuations
        self.tasks = Mutex(laneTasks)
        self.closeBase = close
    }

    func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
        throw ClientError(.invalidState, "a pattern scenario's producer takes records through produceNow only.")
    }

    func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, opaque: UInt64) throws(ClientError) {
        counts.queued.add(1, ordering: .relaxed)
        let n = counts.sequence.add(1, ordering: .relaxed).oldValue
        lanes[n % lanes.count].yield(_Item(topic: topic, key: key.map { Array($0) }, value: value.map { Array($0) } ?? [], opaque: opaque))
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
        await closeBase()
    }
}
