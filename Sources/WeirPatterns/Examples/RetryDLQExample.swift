import Foundation
import Synchronization
import WeirClient

/// `weir example retry-dlq`: a handler that fails transiently, then permanently; the retry
/// tiers, the dead-letter topic and its headers, and a replay back to the source.
let retryDLQExample = PatternExample(
    name: "retry-dlq",
    summary: "retry topics with backoff (pause/seek/resume), a DLQ with error headers, and a replay"
) { client, _, output in
    let topic = "order.payment.completed"
    try await client.ensureTopic(topic, partitions: 2, configs: [:])
    let producer = try await client.makeProducer(properties: [:])
    for (key, value) in [("o-1", "ok"), ("o-2", "flaky"), ("o-3", "poison"), ("o-4", "broken")] {
        _ = try await producer.send(ProducerRecord(topic: topic, key: key, value: value))
    }
    try await producer.flush()

    struct PoisonMessage: ClassifiedError, CustomStringConvertible {
        var isRetriable: Bool { false }
        var description: String { "cannot parse the payment: not JSON" }
    }
    struct ServiceUnavailable: Error, CustomStringConvertible {
        var description: String { "payment service unavailable (HTTP 503)" }
    }
    let config = RetryConfiguration(sourceTopic: topic, groupId: "billing", maxRetries: 2,
                                    backoff: Backoff(base: .milliseconds(100), cap: .seconds(1), jitter: .full))
    let pipeline = RetryPipeline(client: client, configuration: config, alert: { dead in
        output("ALERT: \(dead.record.key.map { String(decoding: $0, as: UTF8.self) } ?? "?") dead-lettered after \(dead.attempts) attempt(s): \(dead.error)")
    }) { delivery in
        let value = delivery.record.valueString ?? ""
        switch value {
        case "flaky" where delivery.attempt < 2: throw ServiceUnavailable()
        case "poison": throw PoisonMessage()
        case "broken": throw ServiceUnavailable()
        default:
            output("processed \(delivery.record.keyString ?? "?") (\(value)) on attempt \(delivery.attempt) from \(delivery.record.topic)")
        }
    }
    output("retry tiers: \(config.retryTopics.joined(separator: ", ")); dead letters: \(config.deadLetterTopic)")
    let deadline = MonotonicDeadline(after: .seconds(5))
    while pipeline.statistics.processed + pipeline.statistics.deadLettered < 4 && !deadline.hasPassed {
        try await pipeline.pollOnce()
    }
    await pipeline.close()
    let s = pipeline.statistics
    output("processed \(s.processed), retried \(s.retried), dead-lettered \(s.deadLettered), partition pauses while waiting \(s.pauses)")

    try await DeadLetterReplay.read(config.deadLetterTopic, on: client, groupId: nil, commit: false) { record in
        let h = { RetryHeaders.string($0, in: record.headers) ?? "-" }
        output("DLQ \(record.keyString ?? "?"): from=\(h(RetryHeaders.originalTopic)) retries=\(h(RetryHeaders.retryCount)) error=\(h(RetryHeaders.errorMessage))")
    }
    let replay = try await DeadLetterReplay(deadLetterTopic: config.deadLetterTopic).run(on: client)
    output("replayed \(replay.replayed) message(s) to \(Set(replay.items.compactMap(\.target)).sorted().joined(separator: ", ")) (retry headers cleared)")
    let again = try await DeadLetterReplay(deadLetterTopic: config.deadLetterTopic).run(on: client)
    output("a second replay sends \(again.replayed): the first one committed its position")
}
