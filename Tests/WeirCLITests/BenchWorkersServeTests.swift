import Foundation
import Testing
import WeirBench
@testable import WeirCLI
import WeirTestSupport

/// `weir bench run … --worker I/N` in two processes against one `weir serve` (through the Kafka
/// backend), then `weir bench merge`: OMB's workers, on one host.
@Suite(.serialized, .enabled(if: weirExecutable() != nil, "needs .build/debug/weir (swift build)"))
struct BenchWorkersServeTests {
    /// Starts `weir ARGS`; its stdout and stderr go to files in `dir` named `name`.
    func start(_ args: [String], in dir: String, name: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: weirExecutable()!)
        p.arguments = args
        _ = FileManager.default.createFile(atPath: "\(dir)/\(name).out", contents: nil)
        _ = FileManager.default.createFile(atPath: "\(dir)/\(name).err", contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/\(name).out"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/\(name).err"))
        try p.run()
        return p
    }

    func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    @Test func twoWorkerProcessesAgainstOneServerMergeIntoOneRun() async throws {
        let dir = makeTemporaryDirectory("weir-workers-serve")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try start(["serve", "--log-dir", dir + "/log", "--listen", "127.0.0.1:0"], in: dir, name: "serve")
        defer {
            if server.isRunning {
                kill(server.processIdentifier, SIGTERM)
                server.waitUntilExit()
            }
        }
        // The bound port, from "listening on HOST:PORT"; a hang guard, not a timing bound.
        var address: String?
        let deadline = ContinuousClock.now + .seconds(120)
        while address == nil && server.isRunning && ContinuousClock.now < deadline {
            if let line = text(dir + "/serve.out").split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
                address = line.dropFirst("listening on ".count).split(separator: " ").first.map(String.init)
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let bootstrap = try #require(address, "weir serve did not start: \(text(dir + "/serve.err"))")

        // Two producers and a group of two consumers over four partitions: one of each per worker.
        let workload = dir + "/workload.yaml"
        _ = FileManager.default.createFile(atPath: workload, contents: Data("""
            name: shared
            topics: 1
            partitionsPerTopic: 4
            producersPerTopic: 2
            subscriptionsPerTopic: 1
            consumerPerSubscription: 2
            producerRate: 1000
            messageSize: 200
            warmupSeconds: 0
            durationSeconds: 4
            drainTimeoutSeconds: 60
            """.utf8))
        let runID = "workers-\(UInt32.random(in: 0...UInt32.max))"
        var workers: [Process] = []
        for i in 0..<2 {
            workers.append(try start(["bench", "run", "--workload", workload, "--bootstrap-servers", bootstrap, "--worker", "\(i)/2",
                                      "--run-id", runID, "--out", "\(dir)/w\(i)", "--quiet"], in: dir, name: "w\(i)"))
        }
        for (i, p) in workers.enumerated() {
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "worker \(i): \(text("\(dir)/w\(i).err"))")
        }
        #expect(await WeirCommand.run(arguments: ["bench", "merge", dir + "/w0", dir + "/w1", "--out", dir + "/merged"]) == 0)
        let a = try #require(try RunWriter.readSummary(path: dir + "/w0/summary.json").steps.first)
        let b = try #require(try RunWriter.readSummary(path: dir + "/w1/summary.json").steps.first)
        let m = try #require(try RunWriter.readSummary(path: dir + "/merged/summary.json").steps.first)
        #expect(a.backendDetails?["worker"] == "0/2" && b.backendDetails?["worker"] == "1/2")
        #expect(a.backendDetails?["run_id"]?.hasPrefix(runID) == true && a.backendDetails?["run_id"] == b.backendDetails?["run_id"])
        #expect(a.errors == 0 && b.errors == 0)
        #expect(a.produce.records > 1_000 && b.produce.records > 1_000)
        #expect(m.produce.records == a.produce.records + b.produce.records)
        #expect(m.consume.records == a.consume.records + b.consume.records)
        // One group across both workers: each record is read by one worker or the other. Not
        // exactly all: a worker that ends first closes its consumers while the other's records
        // still arrive in its partitions (one run of several left 24 of 4,000 unread).
        #expect(m.consume.records <= m.produce.records && m.consume.records >= m.produce.records * 98 / 100)
        // The merged histograms hold both workers' samples.
        for kind in ["publish", "end_to_end"] {
            let sum = (a.latency[kind]?.count ?? 0) + (b.latency[kind]?.count ?? 0)
            #expect(sum > 0 && m.latency[kind]?.count == sum, "\(kind)")
        }
    }

    /// Workers of one run with consumers must share a run ID (their groups' name).
    @Test func workersWithConsumersNeedARunID() async {
        let dir = makeTemporaryDirectory("weir-workers-id")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await WeirCommand.run(arguments: ["bench", "run", "quick", "--worker", "0/2", "--out", dir + "/x", "--quiet"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "run", "quick", "--run-id", "bad id", "--out", dir + "/x", "--quiet"]) == 2)
    }
}
