/// A backend that acknowledges every record at once and delivers nothing to consumers: it
/// measures the load generator's own ceiling (scheduling, payload selection, clock reads and
/// histogram recording), the figure every other backend's results must stay well below.
public struct NullBackend: BenchBackend {
    public init() {}

    public var name: String { "null" }

    public func createTopics(_ names: [String], partitions: Int) async throws(BenchError) {}

    public func makeProducer(topic: String, index: Int, sink: DeliverySink) async throws(BenchError) -> any BenchProducer {
        Producer(sink: sink)
    }

    public func makeConsumer(topic: String, group: String, member: Int, members: Int) async throws(BenchError) -> any BenchConsumer {
        Consumer()
    }

    public func statistics() async -> BackendStatistics { BackendStatistics() }

    public func shutdown() async {}

    struct Producer: BenchProducer {
        let sink: DeliverySink
        func send(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, intendedNanos: UInt64, sentNanos: UInt64) {
            sink.delivered(intendedNanos: intendedNanos, bytes: value.count + (key?.count ?? 0), at: sentNanos)
        }
        func flush() async {}
        func close() async {}
    }

    struct Consumer: BenchConsumer {
        func poll(timeoutNanos: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
            sleepNanos(min(timeoutNanos, 1_000_000))
            return 0
        }
        func close() async {}
    }
}
