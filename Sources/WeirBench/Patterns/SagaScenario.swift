import Foundation
import Synchronization
import WeirClientAPI
import WeirPatterns

/// `pattern: saga`: saga completion latency.
///
/// Producer side: each generated record starts a saga of `steps` steps on a `SagaOrchestrator`
/// (its events on `<topic>.saga.events`, written with `acks=all`); the acknowledgement (`publish`
/// latency) is the durable `SagaStarted`. A fraction `compensationRate` of the sagas fail at their
/// last step and are compensated in reverse. The consumer side reads the saga events topic and
/// reports a record when its `SagaCompleted` or `SagaCompensated` arrives, so `end_to_end` =
/// intended send → every step and compensation event durable → outcome consumed. The counts of
/// each outcome are in the step's `backend_details` (summary.json).
let sagaScenario = PatternScenario(
    .saga,
    presets: [
        Preset(name: "saga", summary: "saga completion latency: 200 sagas/s of 3 steps, 10% compensated, events with acks=all; embedded", steps: [
            Preset.step(named: "saga-200-3steps-10pct") {
                $0.pattern = "saga"
                $0.partitionsPerTopic = 4; $0.producerRate = 200; $0.messageSize = 256
                $0.warmupSeconds = 2; $0.durationSeconds = 12
                $0.patternOptions = ["steps": "3", "compensationRate": "0.1"]
            },
        ]),
    ]
) { workload, client throws(BenchError) in
    let o = _PatternOptions(workload)
    let saga = try await _Saga(client: client, workload: workload,
                               steps: o.int("steps", 3, 1...100),
                               compensationRate: o.double("compensationRate", 0.1, 0...1),
                               stepMicros: o.int("stepMicros", 0, 0...10_000_000))
    let members = workload.consumerPerSubscription
    var scenario = _ScenarioClient(base: client)
    scenario.makeProducer = { _, onDelivery async throws(BenchError) in
        let p = _SagaStarter(saga: saga, onDelivery: onDelivery)
        saga.producers.withLock { $0.append(p) }
        return p
    }
    scenario.makeFeed = { _, group, member async throws(BenchError) in
        try await saga.makeFeed(group: group, member: member, members: members)
    }
    scenario.moreDetails = { saga.details() }
    scenario.onClose = { await saga.shutdown() }
    return scenario
}

/// A benchmark saga's context: the record's stamp and size, and whether it fails.
struct _BenchSaga: Codable, Sendable {
    var stamp: UInt64
    var size: Int
    var fail: Bool
    var done = 0
}

struct _BenchSagaFailure: Error, CustomStringConvertible {
    var description: String { "the benchmark's last step fails for this saga (compensationRate)" }
}

/// The scenario's orchestrator and counts.
final class _Saga: @unchecked Sendable {
    let client: any MessagingClient
    let orchestrator: SagaOrchestrator<_BenchSaga>
    let eventsTopic: String
    let compensationRate: Double
    let completed = Atomic<Int>(0)
    let compensated = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let beginFailures = Atomic<Int>(0)
    let producers = Mutex<[_SagaStarter]>([])

    /// The first subscription's group (the one whose outcomes are counted).
    let countingGroup = Mutex<String?>(nil)

    init(client: any MessagingClient, workload: Workload, steps: Int, compensationRate: Double, stepMicros: Int) async throws(BenchError) {
        self.client = client
        self.compensationRate = compensationRate
        let work: Duration = .microseconds(stepMicros)
        let definition = SagaDefinition<_BenchSaga>(name: "\(workload.topicNames[0])", steps: (0..<steps).map { i in
            SagaStep("step-\(i)", action: { ctx in
                if work > .zero { try await Task.sleep(for: work) }
                if i == steps - 1 && ctx.fail { throw _BenchSagaFailure() }
                var c = ctx
                c.done += 1
                return c
            }, compensation: { _ in
                if work > .zero { try await Task.sleep(for: work) }
            })
        })
        eventsTopic = definition.eventsTopic
        var config = SagaConfiguration()
        config.partitions = workload.partitionsPerTopic
        config.maxStepAttempts = 1
        orchestrator = SagaOrchestrator(client: client, definition: definition, configuration: config)
        do { try await orchestrator.start() } catch {
            throw BenchError(.backend, "saga scenario: cannot start the orchestrator: \(error.message)")
        }
    }

    func makeFeed(group: String, member: Int, members: Int) async throws(BenchError) -> (feed: any _Feed, partitions: [TopicPartition]) {
        let consumer = try await _PatternConsumer.assignedAtEnd(client, topic: eventsTopic, group: group, member: member, members: members)
        let counting = countingGroup.withLock { g in
            if g == nil { g = group }
            return g == group
        }
        let feed = _PatternConsumer { [self] deliver, stopped in
            while !stopped() {
                guard let records = try? await consumer.poll(timeout: .milliseconds(20)) else { continue }
                for r in records {
                    guard let type = r.headers.last(where: { $0.key == SagaEvent.typeHeader })?.value,
                          let kind = SagaEvent.Kind(rawValue: String(decoding: type, as: UTF8.self)), kind.isTerminal,
                          let event = r.value.flatMap(SagaEvent.decode), let ctx = event.decodedContext(as: _BenchSaga.self)
                    else { continue }
                    if counting {
                        switch kind {
                        case .sagaCompleted: completed.add(1, ordering: .relaxed)
                        case .sagaCompensated: compensated.add(1, ordering: .relaxed)
                        default: failed.add(1, ordering: .relaxed)
                        }
                    }
                    var value = [UInt8](repeating: 0, count: max(ctx.size, BenchStamp.size))
                    value.withUnsafeMutableBytes { BenchStamp.write(ctx.stamp, into: $0.baseAddress!) }
                    deliver(value)
                }
            }
            await consumer.close()
        }
        return (feed, await consumer.assignment())
    }

    func details() -> [String: String] {
        var d: [String: String] = [:]
        d["saga.begin_failures"] = String(beginFailures.load(ordering: .relaxed))
        let c = completed.load(ordering: .relaxed), k = compensated.load(ordering: .relaxed), f = failed.load(ordering: .relaxed)
        d["saga.completed"] = String(c)
        d["saga.compensated"] = String(k)
        d["saga.failed"] = String(f)
        d["saga.compensation_rate_target"] = String(compensationRate)
        d["saga.compensation_rate_observed"] = c + k + f > 0 ? String(format: "%.3f", Double(k) / Double(c + k + f)) : "0"
        d["saga.events_topic"] = eventsTopic
        return d
    }

    func shutdown() async {
        for p in producers.withLock({ $0 }) { await p.close() }
        await orchestrator.shutdown()
    }
}

/// One generator producer: each record begins a saga (its context carries the record's stamp
/// and size); acknowledged when `SagaStarted` is.
final class _SagaStarter: MessageProducer, @unchecked Sendable {
    let saga: _Saga
    let onDelivery: DeliveryHandler?
    let inFlight = Atomic<Int>(0)
    static let maxInFlight = 20_000

    init(saga: _Saga, onDelivery: DeliveryHandler?) {
        self.saga = saga
        self.onDelivery = onDelivery
    }

    func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
        throw ClientError(.invalidState, "a pattern scenario's producer takes records through produceNow only.")
    }

    func produceNow(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, opaque: UInt64) throws(ClientError) {
        // Back-pressure, charged to the records' publish delay as a blocking send is.
        while inFlight.load(ordering: .relaxed) >= Self.maxInFlight { sleepNanos(50_000) }
        inFlight.add(1, ordering: .relaxed)
        let stamp = value.flatMap { BenchStamp.read($0) } ?? 0
        let context = _BenchSaga(stamp: stamp, size: value?.count ?? 0, fail: Double.random(in: 0..<1) < saga.compensationRate)
        let onDelivery = self.onDelivery
        Task { [self] in
            do {
                _ = try await saga.orchestrator.begin(context: context)
                _report(onDelivery, topic: topic, opaques: [opaque], ok: true)
            } catch {
                saga.beginFailures.add(1, ordering: .relaxed)
                _report(onDelivery, topic: topic, opaques: [opaque], ok: false)
            }
            inFlight.add(-1, ordering: .relaxed)
        }
    }

    func flush() async {
        while inFlight.load(ordering: .relaxed) > 0 { try? await Task.sleep(for: .milliseconds(1)) }
    }

    func close() async { await flush() }
}
