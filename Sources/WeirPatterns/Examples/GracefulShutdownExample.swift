import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WeirClient

/// `weir example graceful-shutdown`: a consumer stopped mid-stream loses nothing.
let gracefulShutdownExample = PatternExample(
    name: "graceful-shutdown",
    summary: "ConsumerService in a ServiceGroup: shutdown mid-stream finishes the in-flight record, commits, and a restart resumes exactly after it."
) { client, _, output in
    let topic = "shutdown.jobs"
    try await client.ensureTopic(topic, partitions: 1, configs: [:])
    let producer = try await client.makeProducer(properties: [:])
    for i in 0..<20 { _ = try await producer.send(ProducerRecord(topic: topic, key: nil, value: "job-\(i)")) }
    let quiet = Logger(label: "example") { _ in SwiftLogNoOpLogHandler() }
    let handled = _HandledOffsets()

    // Each job takes 20 ms; shutdown is requested while one is in flight.
    let consumer = try await client.makeConsumer(properties: ["group.id": "workers", "auto.offset.reset": "earliest"])
    let service = ConsumerService(consumer: consumer, configuration: .init(topics: [topic], shutdownTimeout: .seconds(5))) { record in
        try await Task.sleep(for: .milliseconds(20))
        handled.append(record.offset)
    }
    let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: ProducerService(producer)), .init(service: service)],
                                                                      logger: quiet))
    let running = Task { try await group.run() }
    while service.processedCount < 7 { try await Task.sleep(for: .milliseconds(2)) }
    output("shutdown requested after \(service.processedCount) job(s) (as SIGTERM would in GracefulShutdownSignals.run)")
    await group.triggerGracefulShutdown()
    try await running.value
    let first = handled.offsets
    output("first run handled offsets \(first.first ?? -1)...\(first.last ?? -1) (\(first.count) jobs), stopped by \(service.stopReason?.rawValue ?? "?")")

    // A restarted member of the group resumes exactly after the last handled job.
    let restarted = try await client.makeConsumer(properties: ["group.id": "workers", "auto.offset.reset": "earliest"])
    try await restarted.subscribe(topics: [topic], listener: nil)
    var rest: [Int64] = []
    var idle = 0
    while idle < 3 {
        let records = try await restarted.poll(timeout: .milliseconds(50))
        idle = records.isEmpty ? idle + 1 : 0
        rest += records.map(\.offset)
    }
    await restarted.close()
    output("restart read offsets \(rest.first ?? -1)...\(rest.last ?? -1) (\(rest.count) jobs)")
    let all = first + rest
    output(all == Array(0..<20) ? "every job exactly once: nothing lost, nothing repeated" : "MISMATCH: \(all)")
}

/// The offsets the example's handler finished, shared with the handler's task.
final class _HandledOffsets: Sendable {
    let _offsets = Mutex<[Int64]>([])
    func append(_ offset: Int64) { _offsets.withLock { $0.append(offset) } }
    var offsets: [Int64] { _offsets.withLock { $0 } }
}
