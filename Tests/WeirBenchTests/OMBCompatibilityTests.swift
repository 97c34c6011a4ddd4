import Foundation
import Testing
@testable import WeirBench
@testable import WeirWorkload
import WeirClientAPI

/// OMB's own files: `../shared/omb/` (or `$WEIR_OMB_DIR`), holding `workloads/`,
/// `driver-kafka/` and `payload/` as copied from openmessaging/benchmark.
let ombDirectory: String? = {
    var candidates: [String] = []
    if let env = ProcessInfo.processInfo.environment["WEIR_OMB_DIR"] { candidates.append(env) }
    // Tests/WeirBenchTests/this file → the package → its parent's shared/omb.
    let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    candidates.append(package.deletingLastPathComponent().appendingPathComponent("shared/omb").path)
    candidates.append(package.appendingPathComponent("../shared/omb").standardized.path)
    return candidates.first { FileManager.default.fileExists(atPath: $0 + "/workloads") }
}()

func ombFiles(_ folder: String) -> [String] {
    guard let dir = ombDirectory.map({ $0 + "/" + folder }),
          let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
    return names.filter { $0.hasSuffix(".yaml") }.sorted().map { dir + "/" + $0 }
}

@Suite struct OMBCompatibilityTests {
    @Test(.enabled(if: ombDirectory != nil, "OMB's workloads are not here (../shared/omb or WEIR_OMB_DIR)"))
    func everyOMBWorkloadLoadsWithOMBsMeaning() throws {
        let files = ombFiles("workloads")
        #expect(files.count >= 100)
        var randomized = 0, fromFiles = 0
        for path in files {
            let steps = try WorkloadFile.load(path: path)
            #expect(steps.count == 1, "\(path)")
            let w = try #require(steps.first)
            // OMB: integer minutes, a warmup of 1 minute unless the file says otherwise.
            #expect(w.durationSeconds.truncatingRemainder(dividingBy: 60) == 0 && w.durationSeconds > 0, "\(path)")
            #expect(w.warmupSeconds == 60, "\(path)")
            if w.useRandomizedPayloads == true {
                randomized += 1
                #expect(w.randomBytesRatio == 0.5 && (w.randomizedPayloadPoolSize ?? 0) >= 100, "\(path)")
            } else {
                fromFiles += 1
                // OMB's payload paths are relative to its checkout; Weir finds them next to the workloads.
                #expect(w.payloadFile.count == 1 && FileManager.default.fileExists(atPath: w.payloadFile[0]), "\(path): \(w.payloadFile)")
            }
        }
        #expect(randomized > 0 && fromFiles > 0)
    }

    @Test(.enabled(if: ombDirectory != nil, "OMB's workloads are not here (../shared/omb or WEIR_OMB_DIR)"))
    func ombWorkloadsThatFitOneMachinePassTheRunCheck() throws {
        var runnable = 0, refused = 0
        for path in ombFiles("workloads") {
            var w = try #require(try WorkloadFile.load(path: path).first)
            w.durationSeconds = 5
            w.warmupSeconds = 0
            if w.topics * w.partitionsPerTopic <= 1_000 {
                // Every file with at most 1,000 partitions runs here (the 500- and 1,000-topic
                // ones with several producers and consumers on each thread).
                try w.checkRunnable()
                runnable += 1
            } else {
                do { try w.checkRunnable(); runnable += 1 } catch { refused += 1; #expect(error.message.contains("×")) }
            }
        }
        #expect(runnable > 60 && refused > 0)
    }

    @Test(.enabled(if: ombDirectory != nil, "OMB's workloads are not here (../shared/omb or WEIR_OMB_DIR)"))
    func randomizedPayloadsAreRandomThenZeros() throws {
        let path = try #require(ombFiles("workloads").first { $0.hasSuffix("max-rate-1-topic-1-partition-1p-1c-1kb.yaml") })
        let w = try #require(try WorkloadFile.load(path: path).first)
        let pool = try PayloadPool.make(for: w)
        #expect(pool.count == w.randomizedPayloadPoolSize)
        pool.withTemplate(0) { value in
            #expect(value.count == 1024)
            #expect(value[512...].allSatisfy { $0 == 0 })
            #expect(value[..<512].filter { $0 == 0 }.count < 20)
        }
    }

    @Test(.enabled(if: ombDirectory != nil, "OMB's driver files are not here (../shared/omb or WEIR_OMB_DIR)"))
    func everyOMBKafkaDriverFileLoads() throws {
        let files = ombFiles("driver-kafka")
        #expect(files.count >= 10)
        for path in files {
            let d = try OMBDriverFile.load(path: path)
            #expect(d.replicationFactor == 3 && d.producerConfig["acks"] != nil && d.consumerConfig["auto.offset.reset"] != nil, "\(path)")
            let embedded = d.resolved(for: "embedded")
            #expect(embedded.config["acks"] == d.producerConfig["acks"] && embedded.config["bootstrap.servers"] == nil, "\(path)")
            #expect(embedded.notes.contains { $0.hasPrefix("replicationFactor: 3") } && embedded.notes.contains { $0.hasPrefix("bootstrap.servers=") }, "\(path)")
            #expect(embedded.config["min.insync.replicas"] == nil && embedded.notes.contains { $0.hasPrefix("min.insync.replicas=2") }, "\(path)")
            // Every property kept is one the embedded client knows (WeirBenchCLI tests run each file).
            for key in embedded.config.keys { #expect(ClientProperties.scope(of: key) != nil, "\(path): \(key)") }
            let kafka = d.resolved(for: "kafka")
            #expect(kafka.config["replication.factor"] == "3" && kafka.config["bootstrap.servers"] == "localhost:9092", "\(path)")
        }
    }

    @Test func driverFileErrorsNameTheField() {
        func message(_ text: String) -> String {
            do { _ = try OMBDriverFile.parse(text, source: "d.yaml"); return "" } catch { return error.message }
        }
        #expect(message("name: x\nreplicationFactr: 3\n").contains("unknown driver field 'replicationFactr'"))
        #expect(message("replicationFactor: 0\n").contains("replicationFactor"))
        #expect(message("producerConfig: |\n  =5\n").contains("no key"))
        let d = try? OMBDriverFile.parse("producerConfig: |\n  # comment\n  linger.ms=5\n  acks: all\n  batch.size 1024\n")
        #expect(d?.producerConfig == ["linger.ms": "5", "acks": "all", "batch.size": "1024"])
    }

    @Test func unknownWorkloadFieldsAreErrorsNamingThem() {
        for field in ["producerRateDelta", "useRandomisedPayloads", "backlogDrainRatios"] {
            do {
                _ = try WorkloadFile.parse("topics: 1\n\(field): 1\n", source: "w.yaml")
                Issue.record("\(field) was accepted")
            } catch { #expect(error.message.contains("'\(field)'") && error.message.contains("w.yaml:2")) }
        }
    }

    @Test func ombFieldsKeepOMBsMeaning() throws {
        let w = try #require(try WorkloadFile.parse("""
            name: x
            topics: 1
            partitionsPerTopic: 1
            messageSize: 1000
            useRandomizedPayloads: true
            randomBytesRatio: 0.25
            randomizedPayloadPoolSize: 10
            backlogDrainRatio: 0.9
            consumerBacklogSizeGB: 1
            driverClass: io.openmessaging.benchmark.driver.kafka.KafkaBenchmarkDriver
            testDurationMinutes: 2
            warmupDurationMinutes: 0
            """).first)
        #expect(w.durationSeconds == 120 && w.warmupSeconds == 0 && w.backlogDrainRatio == 0.9)
        let pool = try PayloadPool.make(for: w)
        #expect(pool.count == 10)
        pool.withTemplate(3) { #expect($0.count == 1000 && $0[250...].allSatisfy { $0 == 0 }) }
        #expect(throws: BenchError.self) { try WorkloadFile.parse("useRandomizedPayloads: true\n") }
        #expect(throws: BenchError.self) { try WorkloadFile.parse("backlogDrainRatio: 1.5\n") }
    }

    @Test func messageSizeDistributionDrawsSizesByWeight() throws {
        let w = try #require(try WorkloadFile.parse("""
            messageSizeDistribution:
              "100": 3
              "1000-2000": 1
            """).first)
        let pool = try PayloadPool.make(for: w)
        var small = 0, large = 0
        for i in 0..<pool.count {
            pool.withTemplate(i) { v in
                if v.count == 100 { small += 1 } else if (1000...2000).contains(v.count) { large += 1 } else { Issue.record("size \(v.count)") }
            }
        }
        #expect(small + large == pool.count && abs(Double(small) / Double(pool.count) - 0.75) < 0.02)
        #expect(throws: BenchError.self) { try WorkloadFile.parse("messageSizeDistribution: { \"100\": 0 }\n") }
        #expect(throws: BenchError.self) { try WorkloadFile.parse("messageSizeDistribution: { \"2000-1000\": 1 }\n") }
        #expect(throws: BenchError.self) { try WorkloadFile.parse("messageSizeDistribution: { \"99999999999\": 1 }\n") }
        #expect(try Workload.parseDistribution("100:1,200-300:2") == ["100": 1, "200-300": 2])
    }

    @Test func ombResultRoundTripsWithOMBsNamesAndUnits() throws {
        var h = makeLatencyHistogram()
        for v in 1...1000 { h.record(UInt64(v) * 10_000) }  // 10 µs … 10 ms
        var delay = makeLatencyHistogram()
        for v in 1...1000 { delay.record(UInt64(v) * 1_000) }  // 1 µs … 1 ms
        var w = Workload()
        w.name = "omb"
        w.messageSize = 100
        w.partitionsPerTopic = 4
        var s = StepSummary(name: "omb", backend: "embedded", workload: w)
        s.durationSeconds = 12
        var rows: [IntervalRow] = []
        var entries: [IntervalHistogram] = []
        for second in 0..<12 {
            var row = IntervalRow(second: second)
            row.acked = 1000
            row.consumed = 900
            rows.append(row)
            entries.append(IntervalHistogram(kind: .publish, startSeconds: Double(second), lengthSeconds: 1, histogram: h))
            entries.append(IntervalHistogram(kind: .publishDelay, startSeconds: Double(second), lengthSeconds: 1, histogram: delay))
        }
        var total = h
        for _ in 1..<12 { total.add(h) }
        let r = StepResult(summary: s, intervals: rows, histograms: [.publish: total, .publishDelay: delay], intervalHistograms: entries)
        let result = try OMBResult(r, driver: "kafka-latency")
        // Two windows of OMB's 10 s: 10 s and the 2 s left.
        #expect(result.publishRate == [1000, 1000] && result.consumeRate == [900, 900])
        #expect(result.backlog == [1000, 1200])
        // Publish latency in ms, publish delay in whole µs, as OMB.
        #expect(abs(result.aggregatedPublishLatency50pct - 5.0) < 0.01)
        #expect(abs(result.aggregatedPublishLatencyMax - 10.0) < 0.01)
        #expect(abs(result.publishLatency99pct[0] - 9.9) < 0.02)
        #expect(result.aggregatedPublishDelayLatency50pct == 500 && result.publishDelayLatencyMax[1] == 1000)
        #expect(result.aggregatedPublishLatencyQuantiles["50.0"].map { abs($0 - 5.0) < 0.01 } == true)
        #expect(result.endToEndLatency50pct == [0, 0] && result.aggregatedEndToEndLatencyQuantiles.isEmpty)

        let json = result.json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == Set(OMBResult.fieldNames))
        #expect(object["publishDelayLatency50pct"] is [Int] && object["aggregatedPublishDelayLatencyMax"] is Int)
        #expect(object["workload"] as? String == "omb" && object["driver"] as? String == "kafka-latency" && object["partitions"] as? Int == 4)
        let back = try JSONDecoder().decode(OMBResult.self, from: Data(json.utf8))
        #expect(back == result)
    }
}
