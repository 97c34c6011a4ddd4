import Foundation
import Testing
import WeirBench
@testable import WeirCLI
import WeirTestSupport

/// `weir bench … --backend kafka` on librdkafka's mock cluster, and its bad configurations.
@Suite(.serialized) struct BenchKafkaCommandTests {
    static func tempDir() -> String { makeTemporaryDirectory("weir-kafka-cli") }

    @Test func badKafkaConfigurationExits2() async {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await WeirCommand.run(arguments: ["bench", "run", "quick", "--bootstrap-servers", "mock:1", "--config", "linger.mss=5", "--out", dir + "/x", "--quiet"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "run", "quick", "--backend", "kafka", "--out", dir + "/x", "--quiet"]) == 2)
        _ = FileManager.default.createFile(atPath: dir + "/bad.properties", contents: Data("no.such.property=1\n".utf8))
        #expect(await WeirCommand.run(arguments: ["bench", "run", "quick", "--bootstrap-servers", "mock:1", "--config-file", dir + "/bad.properties", "--out", dir + "/x", "--quiet"]) == 2)
        _ = FileManager.default.createFile(atPath: dir + "/unset.properties", contents: Data("sasl.password=${WEIR_TEST_SURELY_UNSET}\n".utf8))
        #expect(await WeirCommand.run(arguments: ["bench", "run", "quick", "--bootstrap-servers", "mock:1", "--config-file", dir + "/unset.properties", "--out", dir + "/x", "--quiet"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "run", "quick", "--bootstrap-servers", "mock:1", "--config-file", dir + "/missing.properties", "--out", dir + "/x", "--quiet"]) == 2)
    }

    @Test func embeddedAndKafkaRunsInOneReport() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let workload = dir + "/w.json"
        _ = FileManager.default.createFile(atPath: workload, contents: Data("""
            {"name": "small", "partitionsPerTopic": 2, "producerRate": 1000, "messageSize": 200, "warmupSeconds": 1, "durationSeconds": 2, "config": {"linger.ms": "1"}}
            """.utf8))
        #expect(await WeirCommand.run(arguments: ["bench", "run", "--workload", workload, "--out", dir + "/embedded", "--quiet"]) == 0)
        _ = FileManager.default.createFile(atPath: dir + "/client.properties", contents: Data("compression.type=${WEIR_TEST_CODEC}\n".utf8))
        setenv("WEIR_TEST_CODEC", "zstd", 1)
        #expect(await WeirCommand.run(arguments: ["bench", "run", "--workload", workload, "--bootstrap-servers", "mock:3",
                                                  "--config-file", dir + "/client.properties", "--out", dir + "/kafka", "--quiet"]) == 0)
        for f in ["summary.json", "intervals.csv", "latency.csv", "publish.hgrm", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/kafka/" + f), "missing \(f)")
        }
        let s = try RunWriter.readSummary(path: dir + "/kafka/summary.json")
        let step = try #require(s.steps.first)
        #expect(step.backend == "kafka")
        #expect(step.backendDetails?["bootstrap_servers"] == "mock:3")
        #expect(step.backendDetails?["brokers"] == "3")
        #expect(step.produce.records > 0)
        // The properties file's values stay out of the summary.
        #expect(step.config["compression.type"] == nil)
        #expect(await WeirCommand.run(arguments: ["bench", "report", dir + "/embedded", dir + "/kafka", "--out", dir + "/both.html"]) == 0)
        let html = try String(contentsOfFile: dir + "/both.html", encoding: .utf8)
        #expect(html.contains("embedded") && html.contains("kafka") && html.contains("<svg"))
    }
}
