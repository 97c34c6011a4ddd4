public import ArgumentParser
import Foundation
import WeirCompression
import WeirFormat

/// `weir format`: encode records into RecordBatch v2 files, Kafka's own format.
public struct FormatCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "format",
        abstract: "Encode records into Kafka RecordBatch v2 files.",
        discussion: "Read them back with `weir log dump FILE --deep`.",
        subcommands: [Encode.self]
    )

    public init() {}

    struct Encode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode JSON-lines records into back-to-back record batches.",
            discussion: """
                Each input line is a JSON object: {"timestamp": ms, "key": base64|null, \
                "value": base64|null, "headers": [{"key": "name", "value": base64|null}]}. \
                "key_text" / "value_text" may stand for UTF-8 keys and values. Offsets are \
                assigned from --base-offset on.
                """
        )

        @Option(help: "compression.type: none, gzip, snappy, lz4, zstd.")
        var codec: String = "none"

        @Option(help: "compression.level for the codec (default: Kafka's default for the codec).")
        var level: Int?

        @Option(help: "JSON-lines input file ('-' for standard input).")
        var input: String

        @Option(help: "The batch file to write.")
        var output: String

        @Option(help: "Records per batch.")
        var recordsPerBatch: Int = 1000

        @Option(help: "The first record's offset.")
        var baseOffset: Int64 = 0

        func run() async throws {
            guard recordsPerBatch >= 1 else { throw CLIError.usage("--records-per-batch must be at least 1") }
            let codec: CompressionCodec
            do { codec = try CompressionCodec(name: self.codec) } catch { throw CLIError.usage(error.description) }
            if let level, let range = codec.levelRange, !range.contains(level) {
                throw CLIError.usage("--level \(level) is out of range for \(codec.name): use \(range.lowerBound)...\(range.upperBound)")
            }
            let builder: RecordBatchBuilder
            do {
                builder = try RecordBatchBuilder(codec: codec, compressionLevel: codec.levelRange == nil ? nil : level, batchSizeLimit: Int.max)
            } catch { throw CLIError.usage(error.description) }

            let records = try readRecordLines(input)
            var out = Data()
            var nextOffset = baseOffset
            var batches = 0
            var count = 0
            func flush() throws {
                guard !builder.isEmpty else { return }
                builder.baseOffset = nextOffset
                do { try builder.seal() } catch { throw CLIError.failure("cannot seal batch: \(error)") }
                builder.withUnsafeSealedBytes { out.append(contentsOf: $0) }
                nextOffset += Int64(builder.recordCount)
                builder.reset()
                batches += 1
            }
            for record in records {
                _ = builder.append(record)
                count += 1
                if builder.recordCount >= recordsPerBatch { try flush() }
            }
            try flush()
            do {
                try out.write(to: URL(fileURLWithPath: output))
            } catch {
                throw CLIError.failure("cannot write '\(output)': \(error.localizedDescription)")
            }
            printError("wrote \(count) records in \(batches) batches (\(out.count) bytes, \(codec.name)) to \(output)")
        }
    }
}
