import Foundation
import Testing
import WeirBench
@testable import WeirCLI
import WeirTestSupport

private func benchTempDir() -> String { makeTemporaryDirectory("weirbench-cli") }

private func write(_ text: String, _ path: String) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
}

private func summary(rps: Double, p99: Double) -> String {
    var s = RunSummary(preset: "ci")
    var w = Workload()
    w.name = "step"
    w.subscriptionsPerTopic = 0
    var step = StepSummary(name: "step", backend: "embedded", workload: w)
    step.produce.recordsPerSec = rps
    var lat = LatencyStats()
    lat.count = 10
    lat.p99 = p99
    step.latency["publish"] = lat
    s.steps = [step]
    return RunWriter.summaryJSON(s)
}

@Suite(.serialized) struct BenchCommandTests {
    @Test func badPresetsFlagsAndWorkloadsExit2() async {
        let dir = benchTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await WeirCommand.run(arguments: ["bench", "list"]) == 0)
        #expect(await WeirCommand.run(arguments: ["bench", "list", "--fields"]) == 0)
        #expect(await WeirCommand.run(arguments: ["bench", "run", "nosuch"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "run"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "run", "quick", "--set", "nosuch=1"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "run", "quick", "--set", "producerRate"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "run", "quick", "--config", "batch.sise=1", "--out", dir + "/x"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "run", "quick", "--config", "acks=2", "--out", dir + "/x"]) == 2)
        write("topics: 1\nproducerRate: fast\n", dir + "/bad.yaml")
        #expect(await WeirCommand.run(arguments: ["bench", "run", "--workload", dir + "/bad.yaml"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "run", "--workload", dir + "/missing.yaml"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "compare", dir + "/a.json", dir + "/b.json"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "sweep", "--param", "batch.size"]) == 2)
        // Topic modes on a log directory that does not exist: exit 2, and nothing is created.
        #expect(await WeirCommand.run(arguments: ["bench", "consume", "--topic", "t", "--log-dir", dir + "/nolog"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "produce", "--topic", "t", "--log-dir", dir + "/nolog"]) == 2)
        #expect(!FileManager.default.fileExists(atPath: dir + "/nolog"))
    }

    /// Typed flags are applied as the values they are (never re-parsed from text), after `--set`,
    /// and checked against the field's range; the backend options are declared once.
    @Test func typedFlagsWinOverSetAndAreRangeChecked() throws {
        let o = try BenchCommand.RunOptions.parse(["--set", "producerRate=5", "--rate", "1234.5", "--duration", "0.25",
                                                   "--records", "7", "--mock-cluster", "--config", "batch.size=1"])
        let w = try o.overrides([Workload()])[0]
        #expect(w.producerRate == 1234.5 && w.durationSeconds == 0.25 && w.records == 7)
        #expect(w.backend == "kafka" && o.bootstrapServers == "mock:3" && w.config == ["batch.size": "1"])
        let bad = try BenchCommand.RunOptions.parse(["--rate=-1"])
        #expect(throws: BenchError.self) { try bad.overrides([Workload()]) }
    }

    @Test func nullBackendRunWritesTheRunDirectory() async throws {
        let dir = benchTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/run"
        #expect(await WeirCommand.run(arguments: ["bench", "run", "generator", "--duration", "0.5", "--warmup", "0", "--out", out, "--quiet"]) == 0)
        for f in ["summary.json", "intervals.csv", "latency.csv", "publish.hgrm", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + f), "missing \(f)")
        }
        let s = try RunWriter.readSummary(path: out + "/summary.json")
        #expect(s.steps.first?.produce.records ?? 0 > 0)
        // The machine's steal time is read beside the measurement (Linux: /proc/stat).
        #if os(Linux)
        #expect((s.steps.first?.hostStealSeconds ?? -1) >= 0)
        #endif
        let csv = try String(contentsOfFile: out + "/intervals.csv", encoding: .utf8)
        #expect(csv.hasPrefix(RunWriter.intervalsHeader) && RunWriter.intervalsHeader.hasSuffix(",host_steal_ms,fault"))
        #expect(await WeirCommand.run(arguments: ["bench", "report", out, out, "--out", dir + "/both.html"]) == 0)
        #expect(FileManager.default.fileExists(atPath: dir + "/both.html"))
    }

    @Test func embeddedWorkloadProducesAndConsumesInTheGivenLogDirectory() async throws {
        let dir = benchTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        write("""
        name: tiny
        partitionsPerTopic: 2
        producerRate: 2000
        messageSize: 64
        warmupSeconds: 0
        durationSeconds: 1
        keyDistributor: ZIPFIAN
        config: { linger.ms: 1, compression.type: lz4 }
        """, dir + "/tiny.yaml")
        let out = dir + "/run"
        #expect(await WeirCommand.run(arguments: ["bench", "run", "--workload", dir + "/tiny.yaml", "--log-dir", dir + "/log", "--out", out, "--quiet"]) == 0)
        let s = try RunWriter.readSummary(path: out + "/summary.json")
        let step = try #require(s.steps.first)
        #expect(step.produce.records > 1000)
        #expect(abs(step.consume.records - step.produce.records) <= step.produce.records / 20)
        #expect(step.latency["end_to_end"] != nil)
        #expect(step.undrained == 0)
        #expect(FileManager.default.fileExists(atPath: dir + "/log/weir-bench-0-1"))
        // The same file given in the preset's place runs as a workload.
        #expect(await WeirCommand.run(arguments: ["bench", "run", dir + "/tiny.yaml", "--log-dir", dir + "/log", "--out", out + "2", "--quiet"]) == 0)
        #expect(try RunWriter.readSummary(path: out + "2/summary.json").steps.first?.name == "tiny")
        // A file in the preset's place and --workload as well is the "not both" usage error.
        #expect(await WeirCommand.run(arguments: ["bench", "run", dir + "/tiny.yaml", "--workload", dir + "/tiny.yaml", "--log-dir", dir + "/log", "--out", out + "3", "--quiet"]) == 2)
    }

    /// A sweep over partitions on one log directory (the `partitions` preset with `--log-dir`)
    /// failed at its second step: every step reused `weir-bench-0` as the first step made it.
    @Test func aPartitionSweepOnOneLogDirectoryRunsEachStepOnItsOwnPartitionCount() async throws {
        let dir = benchTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        write("""
        name: sweep
        producerRate: 2000
        messageSize: 64
        warmupSeconds: 0
        durationSeconds: 1
        steps:
          - { name: p1, partitionsPerTopic: 1 }
          - { name: p3, partitionsPerTopic: 3 }
          - { name: p1-again, partitionsPerTopic: 1 }
        """, dir + "/sweep.yaml")
        let out = dir + "/run"
        #expect(await WeirCommand.run(arguments: ["bench", "run", dir + "/sweep.yaml", "--log-dir", dir + "/log", "--out", out, "--quiet"]) == 0)
        let s = try RunWriter.readSummary(path: out + "/summary.json")
        #expect(s.steps.map(\.name) == ["p1", "p3", "p1-again"])
        for step in s.steps { #expect(step.produce.records > 1000 && step.errors == 0) }
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: dir + "/log/weir-bench-0-0") && !fm.fileExists(atPath: dir + "/log/weir-bench-0-1"))
        #expect(fm.fileExists(atPath: dir + "/log/weir-bench-p3-0-2") && !fm.fileExists(atPath: dir + "/log/weir-bench-p3-0-3"))
        // A rerun finds both sizes and uses each where it fits.
        #expect(await WeirCommand.run(arguments: ["bench", "run", dir + "/sweep.yaml", "--log-dir", dir + "/log", "--out", out + "2", "--quiet"]) == 0)
        #expect(!fm.fileExists(atPath: dir + "/log/weir-bench-p1-0-0"))
    }

    /// The machine's baselines run from workload files too, with durations of the user's own;
    /// the kept files of `machine.pwrite-kept` are removed when its step ends.
    @Test func machineBaselinesRunFromAWorkloadFile() async throws {
        let dir = benchTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/files", withIntermediateDirectories: true)
        for backend in ["machine.pwrite", "machine.pwrite-kept", "machine.pwrite-fdatasync"] {
            write("""
            name: \(backend)
            backend: \(backend)
            producerRate: 500
            messageSize: 65536
            subscriptionsPerTopic: 0
            warmupSeconds: 0
            durationSeconds: 1
            """, dir + "/w.yaml")
            let out = dir + "/run-" + backend
            #expect(await WeirCommand.run(arguments: ["bench", "run", dir + "/w.yaml", "--log-dir", dir + "/files", "--out", out, "--quiet"]) == 0)
            let step = try #require(try RunWriter.readSummary(path: out + "/summary.json").steps.first)
            #expect(step.backend == backend && step.produce.records >= 400 && step.errors == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/files") == [])
        }
        write("name: x\nbackend: machine.disk\n", dir + "/bad.yaml")
        #expect(await WeirCommand.run(arguments: ["bench", "run", dir + "/bad.yaml", "--out", dir + "/bad", "--quiet"]) == 2)
    }

    @Test func compareExitCodes() async {
        let dir = benchTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        write(summary(rps: 100_000, p99: 1000), dir + "/base.json")
        write(summary(rps: 80_000, p99: 1000), dir + "/slow.json")
        write(summary(rps: 101_000, p99: 1020), dir + "/same.json")
        write(summary(rps: 150_000, p99: 500), dir + "/fast.json")
        #expect(await WeirCommand.run(arguments: ["bench", "compare", dir + "/base.json", dir + "/slow.json"]) == 2)
        #expect(await WeirCommand.run(arguments: ["bench", "compare", dir + "/base.json", dir + "/same.json"]) == 0)
        #expect(await WeirCommand.run(arguments: ["bench", "compare", dir + "/base.json", dir + "/fast.json"]) == 4)
        #expect(await WeirCommand.run(arguments: ["bench", "compare", dir + "/base.json", dir + "/slow.json", "--threshold", "records_per_sec=-30%"]) == 0)
        #expect(await WeirCommand.run(arguments: ["bench", "compare", dir + "/base.json", dir + "/slow.json", "--threshold", "rps=-30%"]) == 2)
        // Directories of repeats: medians and spread.
        for (i, v) in [100_000.0, 110_000, 90_000].enumerated() {
            try? FileManager.default.createDirectory(atPath: dir + "/b/\(i)", withIntermediateDirectories: true)
            write(summary(rps: v, p99: 1000), dir + "/b/\(i)/summary.json")
        }
        for (i, v) in [95_000.0, 85_000, 105_000].enumerated() {
            try? FileManager.default.createDirectory(atPath: dir + "/c/\(i)", withIntermediateDirectories: true)
            write(summary(rps: v, p99: 1000), dir + "/c/\(i)/summary.json")
        }
        #expect(await WeirCommand.run(arguments: ["bench", "compare", dir + "/b", dir + "/c", "--threshold", "records_per_sec=-3%"]) == 0)
    }
}
