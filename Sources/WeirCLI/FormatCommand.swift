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

            let text: String
            if input == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: input) else {
                    throw CLIError.usage("cannot read --input '\(input)'; give a readable JSON-lines file")
                }
                text = String(decoding: data, as: UTF8.self)
            }
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
            var lineNumber = 0
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                lineNumber += 1
                if line.allSatisfy(\.isWhitespace) { continue }
                let record = try parseRecord(String(line), line: lineNumber)
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

        func parseRecord(_ line: String, line number: Int) throws -> Record {
            let where_ = "\(input == "-" ? "stdin" : input):\(number)"
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw CLIError.usage("\(where_): not a JSON object")
            }
            func bytes(_ field: String) throws -> [UInt8]? {
                if let text = object[field + "_text"] as? String { return Array(text.utf8) }
                guard let raw = object[field], !(raw is NSNull) else { return nil }
                guard let s = raw as? String, let data = Data(base64Encoded: s) else {
                    throw CLIError.usage("\(where_): \"\(field)\" must be base64 or null (or use \"\(field)_text\")")
                }
                return [UInt8](data)
            }
            let timestamp: Int64
            if let t = object["timestamp"] {
                guard let n = t as? NSNumber else { throw CLIError.usage("\(where_): \"timestamp\" must be a number (ms)") }
                timestamp = n.int64Value
            } else {
                timestamp = Int64(Date().timeIntervalSince1970 * 1000)
            }
            var headers: [RecordHeader] = []
            if let list = object["headers"] {
                guard let list = list as? [[String: Any]] else {
                    throw CLIError.usage("\(where_): \"headers\" must be a list of {\"key\", \"value\"} objects")
                }
                for h in list {
                    guard let k = h["key"] as? String else { throw CLIError.usage("\(where_): a header needs a string \"key\"") }
                    var value: [UInt8]? = nil
                    if let t = h["value_text"] as? String {
                        value = Array(t.utf8)
                    } else if let v = h["value"], !(v is NSNull) {
                        guard let s = v as? String, let d = Data(base64Encoded: s) else {
                            throw CLIError.usage("\(where_): header \"\(k)\" value must be base64 or null")
                        }
                        value = [UInt8](d)
                    }
                    headers.append(RecordHeader(key: k, value: value))
                }
            }
            return Record(timestamp: timestamp, key: try bytes("key"), value: try bytes("value"), headers: headers)
        }
    }
}
