public import ArgumentParser
import Foundation
import WeirClient
import WeirFormat
import WeirLog
import WeirPatterns

/// `weir consume`: prints one record per line (kcat -C, kafka-console-consumer).
public struct ConsumeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print the records of a topic, one per line (like kcat -C).",
        discussion: """
            Without --group, reads every partition (or --partition N) from the end, from the beginning \
            with --from-beginning, or from --offset O (an offset, 'beginning', 'end', or -N: N records before the end, as in kcat; needs --partition). \
            With --group G, joins the consumer group, starts from its committed offsets (else the end, \
            or the beginning with --from-beginning) and commits what it printed when it exits.

            Stops after --max-messages N records, or when no record arrived for --timeout-ms T; \
            otherwise runs until SIGINT or SIGTERM, which stop it cleanly within a second (with \
            --group it commits what it printed, and the log directory is closed). The log directory is owned by one process at a time, so \
            stop producers that write to it first.

            --format FMT (kcat's -f tokens): %t topic, %p partition, %o offset, %k key, %s value, \
            %K key length, %S value length, %T timestamp (ms), %h headers as k=v,k=v, %% a percent \
            sign, \\n \\t \\\\ escapes. A null key or value prints as empty (length -1). A record ends \
            with a newline unless FMT already ends with \\n. Default: %s.
            --json: one JSON object per record: topic, partition, offset, timestamp, key, value \
            (UTF-8 text, null when null) and headers.

            --trace: each record's W3C trace context, from its traceparent header: a tab and \
            trace=<trace id>/<parent span id> (or trace=- when the header is missing or malformed) at \
            the end of each line, or "trace":{"traceparent","traceId","spanId","sampled"} (or null) in \
            the JSON. --trace-output FILE (implies --trace) also records one consumer span \
            ("<topic> process", a child of the producer's span) per record printed, as JSON lines \
            appended to FILE.

            Exit codes: 0 success (also when --timeout-ms passes), 1 the topic or log directory cannot \
            be read, 2 usage errors.
            """)

    @Argument(help: "The topic.")
    var topic: String
    @Option(help: "Consume as a member of this consumer group (commits its offsets).")
    var group: String?
    @Flag(name: .customLong("from-beginning"), help: "Start at the beginning when there is no committed offset.")
    var fromBeginning = false
    @Option(help: "Read only this partition.")
    var partition: Int32?
    @Option(parsing: .unconditional, help: "Start offset for --partition: a number, 'beginning', 'end', or -N for N records before the end (as kcat).")
    var offset: String?
    @Option(name: .customLong("max-messages"), help: "Exit after this many records.")
    var maxMessages: Int?
    @Option(name: .customLong("timeout-ms"), help: "Exit when no record arrived for this long.")
    var timeoutMs: Int64?
    @Option(name: .customLong("isolation-level"), help: ArgumentHelp(PropertyListing.allowed(ConsumerConfiguration.table, "isolation.level")))
    var isolationLevel: String?
    @Option(help: "Output format with kcat tokens (see above).")
    var format: String?
    @Flag(help: "One JSON object per record.")
    var json = false
    @Option(name: .customLong("config"), help: ArgumentHelp("A consumer config as key=value (repeatable), e.g. --config max.poll.records=1000. " + PropertyListing.keys(ConsumerConfiguration.table.rows), valueName: "key=value"))
    var configs: [String] = []
    @Option(help: "Write the records to this file instead of standard output.")
    var output: String?
    @Flag(help: "Print each record's W3C trace context (its traceparent header).")
    var trace = false
    @Option(name: .customLong("trace-output"), help: "Append a process span per record to this file (JSON lines); implies --trace.")
    var traceOutput: String?
    @OptionGroup var dir: TopicsCommand.LogDirOption

    public init() {}

    func consumerConfiguration() throws -> ConsumerConfiguration {
        var props = try parseKeyValuePairs(configs)
        if let group { props["group.id"] = group }
        if let isolationLevel { props["isolation.level"] = isolationLevel }
        if props["auto.offset.reset"] == nil { props["auto.offset.reset"] = fromBeginning ? "earliest" : "latest" }
        if props["fetch.max.wait.ms"] == nil { props["fetch.max.wait.ms"] = "100" }
        if props["enable.auto.commit"] == nil { props["enable.auto.commit"] = "false" }
        do { return try ConsumerConfiguration(properties: props) } catch {
            let flag = error.key == "isolation.level" ? "--isolation-level" : "--config \(error.key ?? "KEY")=VALUE"
            throw CLIError.usage("\(error.message) (set with \(flag))")
        }
    }

    func validate(_ formatter: RecordFormatter) throws {
        if format != nil && json { throw CLIError.usage("--format and --json exclude each other; choose one.") }
        if group != nil && partition != nil {
            throw CLIError.usage("--group assigns partitions through the group; drop --partition, or drop --group to read one partition.")
        }
        if offset != nil && partition == nil { throw CLIError.usage("--offset needs --partition N.") }
        if offset != nil && fromBeginning { throw CLIError.usage("--offset and --from-beginning exclude each other; choose one.") }
        if let maxMessages, maxMessages < 1 { throw CLIError.usage("--max-messages \(maxMessages) is out of range; give at least 1.") }
        if let timeoutMs, timeoutMs < 0 { throw CLIError.usage("--timeout-ms \(timeoutMs) is out of range; give 0 or more.") }
        if let offset, Int64(offset) == nil && offset != "beginning" && offset != "end" {
            throw CLIError.usage("--offset '\(offset)' is not an offset; give a number, 'beginning' or 'end'.")
        }
    }

    public func run() async throws {
        var formatter = try RecordFormatter(format: format, json: json)
        formatter.trace = trace || traceOutput != nil
        var tracing: ProcessingTracing? = nil
        if let traceOutput {
            do { tracing = ProcessingTracing(tracer: RecordingTracer(sink: JSONLinesSpanSink(try JSONLogSink.file(traceOutput))), group: group) } catch {
                throw CLIError.usage("cannot write --trace-output '\(traceOutput)': \(error.message)")
            }
        }
        try validate(formatter)
        let config = try consumerConfiguration()
        let log = try TopicsCommand.open(dir.logDir, mustExist: true)
        defer { try? log.close() }
        let count: Int
        do { count = try log.partitionCount(topic) } catch {
            throw CLIError.failure("topic '\(topic)' does not exist in \(dir.logDir); create it with weir topics create \(topic).")
        }
        if let partition, partition < 0 || Int(partition) >= count {
            throw CLIError.failure("partition \(partition) of '\(topic)' does not exist (it has \(count)).")
        }
        let sink = try OutputSink(path: output)
        let consumer: Consumer
        do { consumer = try Consumer(configuration: config, logDirectory: log) } catch {
            throw CLIError.usage(error.message)
        }
        // SIGINT / SIGTERM end the loop cleanly: commit what was printed, close the log.
        // kcat's negative offsets: N records before the high-water mark (not below the start).
        let fromEnd: @Sendable (TopicPartition, Int64) -> Int64 = { tp, n in
            guard let p = try? log.partition(tp) else { return 0 }
            return max(p.logStartOffset, p.highWatermark - min(n, p.highWatermark))
        }
        let result = await GracefulShutdownSignals.withSignals { _ in await _consume(consumer, sink, formatter, count, tracing, fromEnd: fromEnd) }
        sink.close()
        await consumer.close()
        if case .failure(let error) = result {
            throw error.code == .invalidConfig ? CLIError.usage(error.message) : CLIError.failure(error.message)
        }
    }

    func _consume(_ consumer: Consumer, _ sink: OutputSink, _ formatter: RecordFormatter, _ count: Int,
                  _ tracing: ProcessingTracing? = nil, fromEnd: @Sendable (TopicPartition, Int64) -> Int64 = { _, _ in 0 }) async -> Result<Void, ClientError> {
        do {
            try await _consumeLoop(consumer, sink, formatter, count, tracing, fromEnd: fromEnd)
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    func _consumeLoop(_ consumer: Consumer, _ sink: OutputSink, _ formatter: RecordFormatter, _ count: Int,
                      _ tracing: ProcessingTracing?, fromEnd: @Sendable (TopicPartition, Int64) -> Int64) async throws(ClientError) {
        if group != nil {
            try consumer.subscribe(topics: [topic])
        } else {
            let parts = partition.map { [TopicPartition(topic, $0)] } ?? (0..<Int32(count)).map { TopicPartition(topic, $0) }
            try consumer.assign(parts)
            if let offset, let p = partition {
                let tp = TopicPartition(topic, p)
                switch offset {
                case "beginning": try consumer.seekToBeginning([tp])
                case "end": try consumer.seekToEnd([tp])
                default:
                    let o = Int64(offset)!
                    // kcat's meaning of a negative offset: that many records before the end
                    // (clamped to the log-start offset).
                    try consumer.seek(tp, to: o >= 0 ? o : fromEnd(tp, -o))
                }
            }
        }
        var printed = 0
        var done: [TopicPartition: Int64] = [:]
        var lastRecord = monotonicNanos()
        reading: while !ShutdownRequest.isRequested {
            let wait: Duration = timeoutMs.map { .milliseconds(max(0, $0)) - .nanoseconds(Int64(monotonicNanos() - lastRecord)) } ?? .seconds(1)
            if wait <= .zero { break }
            let records = try await consumer.poll(timeout: min(wait, .seconds(1)))
            if !records.isEmpty { lastRecord = monotonicNanos() }
            for r in records {
                if let tracing {
                    _ = try? await tracing.withProcessSpan(r) { sink.write(formatter.format(r)) }
                } else {
                    sink.write(formatter.format(r))
                }
                done[r.topicPartition] = r.offset + 1
                printed += 1
                if let maxMessages, printed >= maxMessages { break reading }
            }
            // One write per poll, not per record: what a poll returned is on the terminal
            // before the next poll waits.
            sink.flush()
        }
        // Only what was printed counts as consumed.
        if group != nil { try consumer.commit(done) }
    }
}

/// Writes lines to standard output or a file, buffered: the buffer is written when it holds
/// 64 KiB, on `flush()` (the consume loop flushes after each poll) and on `close()`.
final class OutputSink {
    let handle: FileHandle
    let isFile: Bool
    var buffer = ""

    init(path: String?) throws {
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
                throw CLIError.usage("cannot write --output '\(path)'; check the path.")
            }
            handle = h
            isFile = true
        } else {
            handle = .standardOutput
            isFile = false
        }
    }

    func write(_ s: String) {
        buffer += s
        if buffer.utf8.count >= 1 << 16 { flush() }
    }

    func flush() {
        if !buffer.isEmpty { handle.write(Data(buffer.utf8)); buffer = "" }
    }

    func close() {
        flush()
        if isFile { try? handle.close() }
    }
}

/// Formats records as kcat's `-f` does, or as JSON.
struct RecordFormatter {
    enum Token { case text(String), topic, partition, offset, key, value, keyLength, valueLength, timestamp, headers }
    let tokens: [Token]
    let json: Bool
    /// Adds each record's W3C trace context (`--trace`).
    var trace = false

    init(format: String?, json: Bool) throws {
        self.json = json
        var tokens: [Token] = []
        var text = ""
        var it = Array(format ?? "%s")
        var i = 0
        func flush() { if !text.isEmpty { tokens.append(.text(text)); text = "" } }
        while i < it.count {
            let c = it[i]
            if c == "%" || c == "\\" {
                guard i + 1 < it.count else { throw CLIError.usage("--format ends with a lone '\(c)'; write %% or \\\\ for the character itself.") }
                let n = it[i + 1]
                i += 2
                if c == "\\" {
                    switch n {
                    case "n": text += "\n"
                    case "t": text += "\t"
                    case "\\": text += "\\"
                    default: throw CLIError.usage("--format has an unknown escape '\\\(n)'; use \\n, \\t or \\\\.")
                    }
                    continue
                }
                let t: Token
                switch n {
                case "t": t = .topic
                case "p": t = .partition
                case "o": t = .offset
                case "k": t = .key
                case "s": t = .value
                case "K": t = .keyLength
                case "S": t = .valueLength
                case "T": t = .timestamp
                case "h": t = .headers
                case "%": text += "%"; continue
                default: throw CLIError.usage("--format has an unknown token '%\(n)'; known: %t %p %o %k %s %K %S %T %h %%.")
                }
                flush()
                tokens.append(t)
                continue
            }
            text.append(c)
            i += 1
        }
        if !(format ?? "").hasSuffix("\\n") { text += "\n" }
        flush()
        it = []
        self.tokens = tokens
    }

    func format(_ r: ConsumerRecord) -> String {
        if json {
            var j = JSONLine()
            j.add("topic", r.topic)
            j.add("partition", Int(r.partition))
            j.add("offset", r.offset)
            j.add("timestamp", r.timestamp)
            j.add("key", r.key.map { String(decoding: $0, as: UTF8.self) })
            j.add("value", r.value.map { String(decoding: $0, as: UTF8.self) })
            var h = JSONLine()
            for header in r.headers { h.add(header.key, header.value.map { String(decoding: $0, as: UTF8.self) }) }
            j.addRaw("headers", h.line)
            if trace {
                if let tp = Self.traceParent(r) {
                    var t = JSONLine()
                    t.add("traceparent", tp.description)
                    t.add("traceId", tp.traceIdHex)
                    t.add("spanId", tp.spanIdHex)
                    t.add("sampled", tp.isSampled)
                    j.addRaw("trace", t.line)
                } else {
                    j.addRaw("trace", "null")
                }
            }
            return j.line + "\n"
        }
        var out = ""
        for t in tokens {
            switch t {
            case .text(let s): out += s
            case .topic: out += r.topic
            case .partition: out += String(r.partition)
            case .offset: out += String(r.offset)
            case .key: out += r.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
            case .value: out += r.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
            case .keyLength: out += String(r.key?.count ?? -1)
            case .valueLength: out += String(r.value?.count ?? -1)
            case .timestamp: out += String(r.timestamp)
            case .headers: out += r.headers.map { "\($0.key)=\($0.value.map { String(decoding: $0, as: UTF8.self) } ?? "")" }.joined(separator: ",")
            }
        }
        if trace {
            let context = Self.traceParent(r).map { "\($0.traceIdHex)/\($0.spanIdHex)" } ?? "-"
            let newline = out.hasSuffix("\n")
            if newline { out.removeLast() }
            out += "\ttrace=" + context + (newline ? "\n" : "")
        }
        return out
    }

    /// The record's `traceparent` header, nil when missing or malformed.
    static func traceParent(_ r: ConsumerRecord) -> TraceParent? {
        RecordHeadersExtractor().extract(key: TraceParent.headerName, from: r.headers).flatMap { try? TraceParent(parsing: $0) }
    }
}
