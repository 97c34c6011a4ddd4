import Testing
@testable import WeirBench
import WeirClientAPI

@Suite struct WorkloadTests {
    @Test func ombFieldsAreAccepted() throws {
        let yaml = """
        name: omb-style
        topics: 2
        partitionsPerTopic: 16
        messageSize: 1024
        useRandomizedPayloads: true
        randomizedPayloadPoolSize: 100
        subscriptionsPerTopic: 1
        consumerPerSubscription: 2
        producersPerTopic: 1
        producerRate: 50000
        consumerBacklogSizeGB: 0
        testDurationMinutes: 2
        warmupDurationMinutes: 0
        keyDistributor: KEY_ROUND_ROBIN
        config:
          batch.size: 65536
          linger.ms: 5
        """
        let w = try #require(try WorkloadFile.parse(yaml).first)
        #expect(w.topics == 2 && w.partitionsPerTopic == 16 && w.consumerPerSubscription == 2)
        #expect(w.durationSeconds == 120 && w.warmupSeconds == 0)
        #expect(w.useRandomizedPayloads == true)
        // OMB's default warmup is 1 minute; fractional minutes are not OMB's (use durationSeconds).
        #expect(try WorkloadFile.parse("testDurationMinutes: 1\n").first?.warmupSeconds == 60)
        #expect(throws: BenchError.self) { try WorkloadFile.parse("testDurationMinutes: 0.5\n") }
        #expect(w.keyDistributor == .sequential)
        #expect(w.config == ["batch.size": "65536", "linger.ms": "5"])
    }

    @Test func jsonAndStepsWork() throws {
        let json = """
        {"name": "acks", "producerRate": 1000, "steps": [{"name": "a", "config": {"acks": "1"}}, {"config": {"acks": "all"}}]}
        """
        let steps = try WorkloadFile.parse(json)
        #expect(steps.map(\.name) == ["a", "acks-2"])
        #expect(steps[1].config["acks"] == "all")
        #expect(steps.allSatisfy { $0.producerRate == 1000 })
    }

    @Test func errorsNameTheFieldTheLineAndTheAllowedValues() {
        func message(_ text: String) -> String {
            do { _ = try WorkloadFile.parse(text, source: "w.yaml"); return "" } catch { return error.message }
        }
        let unknown = message("topics: 1\nproducerRat: 5\n")
        #expect(unknown.contains("w.yaml:2") && unknown.contains("producerRat") && unknown.contains("producerRate"))
        let bad = message("topics: 1\npartitionsPerTopic: 2\nkeyDistributor: SOMETIMES\n")
        #expect(bad.contains("w.yaml:3") && bad.contains("keyDistributor") && bad.contains("ZIPFIAN"))
        let small = message("messageSize: 4\n")
        #expect(small.contains("messageSize") && small.contains("8…16,777,216"))
        #expect(message("- just\n- a list\n").contains("mapping"))
        #expect(message("topics: [1\n").contains("not valid YAML"))
        let combo = message("scenario: backlog\n")
        #expect(combo.contains("consumerBacklogSizeGB"))
    }

    @Test func overridesApplyToEveryStep() throws {
        let steps = try BenchRun.applyOverrides(Preset.named("durability")!.steps, set: ["producerRate=500", "durationSeconds=1"], config: ["batch.size=1000"])
        #expect(steps.allSatisfy { $0.producerRate == 500 && $0.durationSeconds == 1 && $0.config["batch.size"] == "1000" })
        #expect(throws: BenchError.self) { try BenchRun.applyOverrides([Workload()], set: ["nokey"], config: []) }
        #expect(throws: BenchError.self) { try BenchRun.applyOverrides([Workload()], set: ["topics=0"], config: []) }
    }

    @Test func everyPresetIsValid() throws {
        for p in Preset.all {
            #expect(!p.steps.isEmpty)
            for s in p.steps { try s.validate() }
        }
        for name in ["quick", "throughput", "latency", "durability", "partitions", "backlog", "compression", "batching"] {
            #expect(Preset.named(name) != nil, "missing preset \(name)")
        }
    }

    @Test func sweepBuildsTheGrid() throws {
        let grid = try Sweep.grid(base: Workload(), params: try Sweep.parse(["batch.size=16384,65536", "linger.ms=0,5,20", "partitionsPerTopic=1,4"]))
        #expect(grid.count == 12)
        #expect(grid[0].name == "batch.size=16384 linger.ms=0 partitionsPerTopic=1")
        #expect(Set(grid.map(\.name)).count == 12)
        #expect(throws: BenchError.self) { try Sweep.parse(["batch.size"]) }
    }

    /// Every key a client accepts has a scope; a topic key and a `topic.` key reach the topic.
    @Test func configIsRoutedByScope() {
        let r = ClientProperties.route(["batch.size": "1", "max.poll.interval.ms": "5", "segment.bytes": "7",
                                        "compression.type": "lz4", "topic.compression.type": "zstd", "client.id": "c"])
        #expect(r.producer == ["batch.size": "1", "compression.type": "lz4", "client.id": "c"])
        #expect(r.consumer == ["max.poll.interval.ms": "5", "client.id": "c"])
        #expect(r.topic == ["segment.bytes": "7", "compression.type": "zstd"])
    }
}
