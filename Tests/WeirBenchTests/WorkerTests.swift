import Foundation
import Testing
@testable import WeirBench

/// `--worker I/N`: shares of one workload's producers and consumers, merged back together.
@Suite struct WorkerTests {
    @Test func sharesDealProducersConsumersRateAndRecords() throws {
        var w = Workload()
        w.producersPerTopic = 3
        w.consumerPerSubscription = 1
        w.producerRate = 3_000
        w.records = 3_001
        let a = w.shared(by: try WorkerShare.parse("0/2")), b = w.shared(by: try WorkerShare.parse("1/2"))
        #expect(a.producersPerTopic == 2 && b.producersPerTopic == 1)
        #expect(a.producerRate == 2_000 && b.producerRate == 1_000)
        #expect(a.records + b.records == 3_001)
        #expect(a.subscriptionsPerTopic == 1 && b.subscriptionsPerTopic == 0)
        for bad in ["2/2", "1", "-1/2", "a/b", "0/0"] {
            #expect(throws: BenchError.self) { _ = try WorkerShare.parse(bad) }
        }
    }

    /// Two workers of one workload, run separately and merged, count what one run would.
    @Test func twoWorkersMergedEqualTheCounts() async throws {
        var w = Workload()
        w.name = "shared"
        w.backend = "null"
        w.producersPerTopic = 3
        w.subscriptionsPerTopic = 0
        w.producerRate = 6_000
        w.records = 3_000
        w.warmupSeconds = 0
        w.messageSize = 100
        let base = NSTemporaryDirectory() + "weir-workers-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        var dirs: [String] = []
        for i in 0..<2 {
            var step = w
            step.worker = WorkerShare(index: i, count: 2)
            let run = BenchRun(name: "shared", steps: [step], progress: { _ in }, makeClient: { _ in NullClient() })
            let (summary, results) = try await run.run()
            #expect(summary.steps[0].backendDetails?["worker"] == "\(i)/2")
            let dir = base + "/w\(i)"
            _ = try RunWriter.write(summary, results: results, to: dir)
            dirs.append(dir)
        }
        let (merged, _, _) = try RunMerge.merge(directories: dirs)
        #expect(merged.steps[0].produce.records == 3_000)
        #expect(merged.steps[0].produce.bytes == 300_000)
    }
}
