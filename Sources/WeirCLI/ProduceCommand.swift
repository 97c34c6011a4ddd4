public import ArgumentParser
import Foundation
import Synchronization
import WeirClient
import WeirFormat
import WeirLog

/// `weir produce`: one record per input line to a topic (kcat -P, kafka-console-producer).
public struct ProduceCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce one record per line of standard input to a topic (like kcat -P).",
        discussion: """
            With --key-separator, each line is KEY<SEP>VALUE (kcat -K); a line without the separator \
            fails. Producer configs use Kafka's names: --config linger.ms=5 --config batch.size=65536. \
            Prints a summary (records, bytes, batches) to standard error; exits 1 if any record failed, \
            2 for a usage error.
            """)

    @Argument(help: "The topic.")
    var topic: String
    @Option(name: .customLong("key-separator"), help: "Split each line into key and value at the first SEP.")
    var keySeparator: String?
    @Option(name: .customLong("header"), help: "A header as key=value added to every record (repeatable).")
    var headers: [String] = []
    @Option(help: "Send every record to this partition (default: the partitioner chooses).")
    var partition: Int32?
    @Option(help: ArgumentHelp(PropertyListing.allowed(ProducerConfiguration.table, "compression.type")))
    var compression: String?
    @Option(help: ArgumentHelp(PropertyListing.allowed(ProducerConfiguration.table, "acks")))
    var acks: String?
    @Option(name: .customLong("config"), help: ArgumentHelp("A producer config as key=value (repeatable). " + PropertyListing.keys(ProducerConfiguration.table.rows), valueName: "key=value"))
    var configs: [String] = []
    @Option(help: "Read lines from this file instead of standard input.")
    var input: String?
    @Option(name: .customLong("transactional-id"), help: "Produce all lines in one transaction with this transactional.id.")
    var transactionalId: String?
    @Flag(name: .customLong("abort"), help: .hidden)
    var abortTransaction = false
    @OptionGroup var dir: TopicsCommand.LogDirOption

    public init() {}

    func configuration() throws -> ProducerConfiguration {
        var props = try parseKeyValuePairs(configs)
        if let compression { props["compression.type"] = compression }
        if let acks { props["acks"] = acks }
        if let transactionalId { props["transactional.id"] = transactionalId }
        var c: ProducerConfiguration
        do { c = try ProducerConfiguration(properties: props) } catch {
            throw CLIError.usage("\(error.message)\(error.key.map { " (set with --config \($0)=VALUE)" } ?? "")")
        }
        return c
    }

    public func run() async throws {
        let config = try configuration()
        if let sep = keySeparator, sep.isEmpty {
            throw CLIError.usage("--key-separator is empty; give a separator such as --key-separator ':'.")
        }
        if abortTransaction && transactionalId == nil {
            throw CLIError.usage("--abort needs --transactional-id.")
        }
        let recordHeaders = try parseKeyValuePairs(headers, flag: "--header").sorted { $0.key < $1.key }
            .map { RecordHeader(key: $0.key, value: Array($0.value.utf8)) }
        // Lines are produced as they are read (standard input is streamed, not buffered whole).
        var nextLine: () -> Substring?
        if let input {
            guard let text = try? String(contentsOfFile: input, encoding: .utf8) else {
                throw CLIError.usage("cannot read --input '\(input)'; check the path.")
            }
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
            if lines.last == "" { lines.removeLast() }  // the newline that ends the file
            nextLine = { lines.popFirst() }
        } else {
            nextLine = { readLine(strippingNewline: true).map { Substring($0) } }
        }
        let log = try TopicsCommand.open(dir.logDir)
        defer { try? log.close() }
        let producer: Producer
        do { producer = try Producer(configuration: config, logDirectory: log) } catch {
            throw CLIError.usage(error.message)
        }
        let deliveryError = _FirstDeliveryError()
        producer.onDelivery { report in
            if case .failure(let e) = report.result { deliveryError.set(e.message) }
        }
        var failed = 0, bytes = 0, records = 0
        var firstError: String? = nil
        do {
            if transactionalId != nil {
                try await producer.initTransactions()
                try producer.beginTransaction()
            }
        } catch {
            await producer.close()
            throw CLIError.failure(error.message)
        }
        var lineNumber = 0
        var stoppedEarly = false
        while var line = nextLine() {
            lineNumber += 1
            // A batch failed in the log (a full disk, an I/O error): the partition cannot take
            // more now, so stop reading instead of buffering the rest of the input into it.
            if producer.statistics.recordsFailed > 0 { stoppedEarly = true; break }
            if line.hasSuffix("\r") { line = line.dropLast() }
            var key: [UInt8]? = nil
            var value = Array(line.utf8)
            if let sep = keySeparator {
                guard let range = line.range(of: sep) else {
                    failed += 1
                    if firstError == nil { firstError = "line \(lineNumber) has no key separator '\(sep)'" }
                    continue
                }
                key = Array(line[..<range.lowerBound].utf8)
                value = Array(line[range.upperBound...].utf8)
            }
            do {
                try await producer.produce(ProducerRecord(topic: topic, partition: partition, key: key, value: value, headers: recordHeaders))
                records += 1
                bytes += value.count + (key?.count ?? 0)
            } catch {
                failed += 1
                if firstError == nil { firstError = error.message }
                if error.code == .unknownTopicOrPartition || error.code == .invalidTransactionState { break }
            }
        }
        var transactionError: String? = nil
        if transactionalId != nil {
            do {
                if abortTransaction || failed > 0 { try await producer.abortTransaction() } else { try await producer.commitTransaction() }
            } catch {
                transactionError = error.message
            }
        }
        await producer.close()
        if let e = deliveryError.value, firstError == nil { firstError = e }
        let s = producer.statistics
        failed += Int(s.recordsFailed)
        let delivered = Int(s.recordsSent)
        printError("weir produce: \(delivered) records (\(bytes) bytes of keys and values) in \(s.batchesSent) batches (\(s.bytesSent) bytes) to \(topic); \(failed) failed"
                   + (transactionalId != nil ? (abortTransaction ? "; transaction aborted" : (failed > 0 ? "; transaction aborted" : "; transaction committed")) : ""))
        if let transactionError { throw CLIError.failure("the transaction failed: \(transactionError)") }
        if failed > 0 {
            if stoppedEarly { printError("weir produce: stopped reading the input at line \(lineNumber) after a failed delivery") }
            throw CLIError.failure("\(failed) records failed; first error: \(firstError ?? "unknown")")
        }
        _ = records
    }
}

/// The first delivery failure the producer reported (from any thread).
final class _FirstDeliveryError: Sendable {
    let message = Mutex<String?>(nil)
    func set(_ m: String) { message.withLock { $0 = $0 ?? m } }
    var value: String? { message.withLock { $0 } }
}
