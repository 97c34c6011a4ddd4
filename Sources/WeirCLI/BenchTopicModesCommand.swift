import ArgumentParser
import Foundation
import WeirBench

extension BenchCommand {
    /// `weir bench produce`: kafka-producer-perf-test on an existing topic, with Weir's reports.
    struct Produce: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Produce to an existing topic (like kafka-producer-perf-test) and write the run directory.",
            discussion: """
            The topic must exist: in the embedded log directory given with --log-dir, or on the \
            cluster of --bootstrap-servers. --rate, --duration, --records and --config work as in \
            `weir bench run`. With --transactional-id each producer commits a transaction every \
            --transaction-duration-ms (embedded backend).
            """)

        @Option(help: "The existing topic to produce to.")
        var topic: String

        @Option(help: "Value size in bytes (ignored with --payload-file).")
        var recordSize: Int = 1024

        @Option(help: "A payload file: each line is one value, sent byte for byte in turn.")
        var payloadFile: String?

        @Option(help: "Producer threads.")
        var producers: Int = 1

        @Option(help: "Make the producers transactional with this transactional.id (ID-N for several).")
        var transactionalId: String?

        @Option(help: "With --transactional-id: milliseconds of schedule per transaction (default 3000).")
        var transactionDurationMs: Double?

        @OptionGroup var options: BenchCommand.RunOptions

        func run() async throws {
            var w = Workload()
            w.name = "produce-\(topic)"
            w.topic = topic
            w.producersPerTopic = producers
            w.subscriptionsPerTopic = 0
            w.messageSize = recordSize
            w.warmupSeconds = 0
            if let payloadFile {
                w.payloadFile = [payloadFile]
                w.payloadLines = true
            }
            if let transactionalId {
                w.config["transactional.id"] = transactionalId
                w.transactionDurationMs = transactionDurationMs
            } else if transactionDurationMs != nil {
                throw CLIError.usage("--transaction-duration-ms needs --transactional-id ID.")
            }
            try await runTopicMode(w, options: options)
        }
    }

    /// `weir bench consume`: kafka-consumer-perf-test on an existing topic, with Weir's reports.
    struct Consume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Consume an existing topic from its start (like kafka-consumer-perf-test) and write the run directory.",
            discussion: """
            A new consumer group reads the topic from the beginning until it has read --records \
            records (default: what the topic holds when the run starts), or until --duration plus \
            drainTimeoutSeconds pass. The rates count from the start of reading to the last record.
            """)

        @Option(help: "The existing topic to consume.")
        var topic: String

        @Option(help: "Consumer threads in the group.")
        var threads: Int = 1

        @OptionGroup var options: BenchCommand.RunOptions

        func run() async throws {
            var w = Workload()
            w.name = "consume-\(topic)"
            w.topic = topic
            w.producersPerTopic = 0
            w.subscriptionsPerTopic = 1
            w.consumerPerSubscription = threads
            w.warmupSeconds = 0
            try await runTopicMode(w, options: options)
        }
    }
}

/// Applies the shared options to a one-step topic-mode workload and runs it.
func runTopicMode(_ w: Workload, options: BenchCommand.RunOptions) async throws {
    let resolved = try options.applyDriver(try bench { () throws(BenchError) in try options.overrides([w]) })
    // The topic must already exist: a mistyped --log-dir is an error, not a new empty log.
    for step in resolved where step.backend == "embedded" {
        if let dir = step.logDir, !FileManager.default.fileExists(atPath: dir) {
            throw CLIError.usage("the log directory '\(dir)' does not exist; check --log-dir, or create the topic there first with weir topics create \(w.topic ?? "T") --log-dir \(dir).")
        }
    }
    try await runAndWrite(name: w.name, steps: resolved, options: options)
}
