import ArgumentParser
import Foundation
import WeirCompression
import WeirFormat
import WeirLog

extension LogCommand {
    /// `weir log append`: write JSON-lines records straight into a partition of the embedded log,
    /// as record batches of a chosen codec and size (no producer in between).
    struct Append: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append JSON-lines records to a partition of the embedded log as record batches.",
            discussion: "Creates the topic when it does not exist (with --partitions and --config). See `weir format encode --help` for the record format."
        )

        @Option(help: "The log directory (default: $WEIR_LOG_DIR or ./weir-data).")
        var logDir: String?

        @Option(help: "The topic.")
        var topic: String

        @Option(help: "The partition.")
        var partition: Int32 = 0

        @Option(help: "Partitions, when the topic is created.")
        var partitions: Int = 1

        @Option(name: .customLong("config"), help: ArgumentHelp("Topic config when it is created, as key=value (e.g. segment.bytes=1048576). Repeatable. " + PropertyListing.keys(LogConfig.table.rows), valueName: "key=value"))
        var configs: [String] = []

        @Option(help: "compression.type of the batches: none, gzip, snappy, lz4, zstd.")
        var codec: String = "none"

        @Option(help: "JSON-lines input ('-' for standard input).")
        var input: String

        @Option(help: "Records per batch.")
        var recordsPerBatch: Int = 1000

        @Option(help: "acks: 0, 1 or all (all syncs to disk before returning).")
        var acks: String = "1"

        func run() async throws {
            guard recordsPerBatch >= 1 else { throw CLIError.usage("--records-per-batch must be at least 1") }
            guard let acks = Acks(kafkaValue: self.acks) else { throw CLIError.usage("--acks must be 0, 1 or all (got '\(self.acks)')") }
            let codec: CompressionCodec
            do { codec = try CompressionCodec(name: self.codec) } catch { throw CLIError.usage(error.description) }
            let properties = try parseKeyValuePairs(configs)
            let config: LogConfig
            do { config = try LogConfig(properties: properties) } catch { throw CLIError.usage(error.message) }
            let records = try readRecordLines(input)

            let dir = logDir ?? defaultLogDirectory()
            let log: LogDirectory
            do { log = try LogDirectory.open(path: dir) } catch { throw CLIError.failure(error.message) }
            do {
                if !log.topicNames.contains(topic) {
                    try log.createTopic(topic, partitions: partitions, config: config)
                } else if !configs.isEmpty {
                    printError("note: topic '\(topic)' exists; its config is kept and --config is not applied")
                }
                let partitionLog = try log.partition(topic, partition)
                let builder = try RecordBatchBuilder(codec: codec, batchSizeLimit: Int.max)
                var first: Int64? = nil
                var last: Int64 = -1
                var batches = 0
                var index = 0
                while index < records.count {
                    builder.reset()
                    let end = min(records.count, index + recordsPerBatch)
                    for r in records[index..<end] { _ = builder.append(r) }
                    index = end
                    try builder.seal()
                    let result = try await partitionLog.append(builder.sealedBytes(), acks: acks)
                    first = first ?? result.baseOffset
                    last = result.lastOffset
                    batches += 1
                }
                try log.close()
                printError("appended \(records.count) records in \(batches) batches to \(topic)-\(partition), offsets \(first ?? 0)...\(last)")
            } catch let error as LogError {
                try? log.close()
                throw CLIError.failure(error.message)
            } catch let error as RecordBatchError {
                try? log.close()
                throw CLIError.failure(error.message)
            }
        }
    }
}
