import Foundation
import Testing
import WeirBench
import WeirTestSupport
@testable import WeirCLI

private func tempDir() -> String { makeTemporaryDirectory("weirbench-omb") }

/// `../shared/omb` (or `$WEIR_OMB_DIR`): OMB's workloads, driver files and payloads.
private let omb: String? = {
    var candidates: [String] = []
    if let env = ProcessInfo.processInfo.environment["WEIR_OMB_DIR"] { candidates.append(env) }
    let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    candidates.append(package.deletingLastPathComponent().appendingPathComponent("shared/omb").path)
    return candidates.first { FileManager.default.fileExists(atPath: $0 + "/workloads") }
}()

@Suite(.serialized) struct BenchOMBCommandTests {
    /// Issue 16 defect 6 through the CLI: each crashed, hung or was accepted before; now exit 2.
    @Test func workloadValuesThatCrashedOrHungExit2() async {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = ["--out", dir + "/x", "--quiet"]
        for args in [
            ["--duration", "1e30"], ["--warmup", "1e30"], ["--set", "durationSeconds=1e30"], ["--set", "testDurationMinutes=1e30"],
            ["--set", "reportIntervalSeconds=1e30"], ["--set", "drainTimeoutSeconds=1e30"], ["--set", "consumerDelayMicros=1e30"],
            ["--set", "consumerBacklogSizeGB=1e30"], ["--set", "messageSizeMax=9223372036854775807"],
            ["--set", "messageSize=2147483648"], ["--set", "keyCount=9223372036854775807"], ["--set", "producerRate=1e30"],
            ["--rate", "99999999999"], ["--set", "burst=9223372036854775807"], ["--set", "producersPerTopic=100000"],
            ["--set", "messageSize=100000000"], ["--set", "producerRate=-5"], ["--rate=-1"],
        ] {
            #expect(await WeirCommand.run(arguments: ["bench", "run", "quick"] + args + out) == 2, "\(args)")
        }
        _ = FileManager.default.createFile(atPath: dir + "/empty.data", contents: Data())
        #expect(await WeirCommand.run(arguments: ["bench", "run", "generator", "--set", "payloadFile=\(dir)/empty.data", "--duration", "0.2", "--warmup", "0"] + out) == 2)
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        _ = FileManager.default.createFile(atPath: dir + "/deep.yaml", contents: Data(("topics: " + deep + "\n").utf8))
        #expect(await WeirCommand.run(arguments: ["bench", "run", "--workload", dir + "/deep.yaml"] + out) == 2)
    }

    @Test func aRunWritesIntervalLogsAndOMBsResult() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/run"
        #expect(await WeirCommand.run(arguments: ["bench", "run", "generator", "--rate", "20000", "--duration", "2", "--warmup", "0", "--out", out, "--omb-result", dir + "/omb.json", "--quiet"]) == 0)
        let log = try HistogramLog.parse(try String(contentsOfFile: out + "/publish.hlog", encoding: .utf8))
        #expect(log.entries.count >= 2 && log.startEpoch ?? 0 > 1_700_000_000)
        let s = try RunWriter.readSummary(path: out + "/summary.json")
        let total = log.entries.reduce(UInt64(0)) { $0 + $1.histogram.totalCount }
        #expect(total == s.steps[0].latency["publish"]?.count)
        let omb = try OMBResult.read(path: dir + "/omb.json")
        #expect(omb.publishRate.count == 1 && omb.publishRate[0] > 10_000)
        #expect(FileManager.default.fileExists(atPath: out + "/omb-result.json"))
        let csv = try String(contentsOfFile: out + "/intervals.csv", encoding: .utf8)
        #expect(csv.contains("publish_p99_99_us,publish_max_us"))

        // Two runs merged: counts add, histograms merge exactly.
        let second = dir + "/run2"
        #expect(await WeirCommand.run(arguments: ["bench", "run", "generator", "--rate", "20000", "--duration", "2", "--warmup", "0", "--out", second, "--quiet"]) == 0)
        #expect(await WeirCommand.run(arguments: ["bench", "merge", out, second, "--out", dir + "/merged"]) == 0)
        let b = try RunWriter.readSummary(path: second + "/summary.json")
        let m = try RunWriter.readSummary(path: dir + "/merged/summary.json")
        #expect(m.steps[0].produce.records == s.steps[0].produce.records + b.steps[0].produce.records)
        #expect(m.steps[0].latency["publish"]?.count == (s.steps[0].latency["publish"]?.count ?? 0) + (b.steps[0].latency["publish"]?.count ?? 0))
        #expect(FileManager.default.fileExists(atPath: dir + "/merged/publish.hlog"))
        #expect(await WeirCommand.run(arguments: ["bench", "merge", out]) == 2)
    }

    @Test(.enabled(if: omb != nil, "OMB's files are not here (../shared/omb or WEIR_OMB_DIR)"))
    func ombWorkloadsRunOnTheEmbeddedLogWithAnOMBDriverFile() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A sample: a payload-file workload and a randomized one, each 5 s on the embedded log.
        for (i, name) in ["simple-workload.yaml", "max-rate-1-topic-1-partition-1p-1c-1kb.yaml"].enumerated() {
            let out = dir + "/run\(i)"
            let args = ["bench", "run", "--workload", omb! + "/workloads/" + name, "--driver", omb! + "/driver-kafka/kafka-latency.yaml",
                        "--duration", "5", "--warmup", "0", "--rate", "5000", "--out", out, "--omb-result", dir + "/omb\(i).json", "--quiet"]
            #expect(await WeirCommand.run(arguments: args) == 0, "\(name)")
            let s = try RunWriter.readSummary(path: out + "/summary.json")
            let step = try #require(s.steps.first)
            #expect(step.produce.records > 10_000 && step.consume.records > 10_000, "\(name)")
            #expect(step.config["acks"] != nil && step.config["bootstrap.servers"] == nil)
            let result = try OMBResult.read(path: dir + "/omb\(i).json")
            #expect(result.driver == "kafka-latency" && result.aggregatedEndToEndLatency50pct > 0)
        }
        // One of OMB's 500-topic files: 2,000 producers and 2,000 consumers (500 groups of
        // four), more than the 256 threads a side, so each thread drives several.
        let out = dir + "/run-500"
        let args = ["bench", "run", "--workload", omb! + "/workloads/500-topic-1kb-4p-4c-500k.yaml", "--driver", omb! + "/driver-kafka/kafka-latency.yaml",
                    "--duration", "5", "--warmup", "0", "--rate", "5000", "--out", out, "--quiet"]
        #expect(await WeirCommand.run(arguments: args) == 0)
        let step = try #require(try RunWriter.readSummary(path: out + "/summary.json").steps.first)
        #expect(step.errors == 0 && step.undrained == 0)
        #expect(step.produce.records > 1_000 && step.consume.records == step.produce.records)
        // Every OMB Kafka driver file's properties run on the embedded client, values included.
        let drivers = (try FileManager.default.contentsOfDirectory(atPath: omb! + "/driver-kafka")).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(drivers.count >= 10)
        for d in drivers {
            let args = ["bench", "run", "--workload", omb! + "/workloads/simple-workload.yaml", "--driver", omb! + "/driver-kafka/" + d,
                        "--records", "200", "--warmup", "0", "--rate", "2000", "--out", dir + "/d-" + d, "--quiet"]
            #expect(await WeirCommand.run(arguments: args) == 0, "\(d)")
        }
    }
}

@Suite(.serialized) struct BenchLiveMetricsCommandTests {
    @Test func metricsAreServedWhileTheRunGoes() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = UInt16(20_000 + Int(getpid() % 20_000))
        let fetched = Task.detached { () -> String in
            var last = ""
            for _ in 0..<40 {
                try? await Task.sleep(for: .milliseconds(100))
                let text = httpRequest(port: port, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
                if text.contains("weir_bench_latency_seconds") { return text }
                if text != "connect failed" { last = text }
            }
            return last
        }
        let code = await WeirCommand.run(arguments: ["bench", "run", "generator", "--rate", "5000", "--duration", "3", "--warmup", "0",
                                                      "--metrics-listen", "127.0.0.1:\(port)", "--out", dir + "/run", "--quiet"])
        #expect(code == 0)
        let text = await fetched.value
        #expect(text.contains("weir_bench_records_total{step=") && text.contains("quantile=\"0.99\""), "got: \(text.prefix(300))")
        #expect(await WeirCommand.run(arguments: ["bench", "run", "generator", "--metrics-listen", "localhost", "--out", dir + "/x"]) == 2)
    }
}
