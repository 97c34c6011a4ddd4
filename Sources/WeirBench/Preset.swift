/// A named benchmark: one or more workload steps (`weir bench list`, `weir bench run NAME`).
public struct Preset: Sendable {
    public var name: String
    /// One line for `weir bench list`.
    public var summary: String
    public var steps: [Workload]

    public static func named(_ name: String) -> Preset? { all.first { $0.name == name } }

    static func step(_ name: String, _ edit: (inout Workload) -> Void) -> Workload {
        var w = Workload()
        w.name = name
        edit(&w)
        return w
    }

    public init(name: String, summary: String, steps: [Workload]) {
        self.name = name
        self.summary = summary
        self.steps = steps
    }

    /// Every preset: the built-in ones, then those of the pattern scenarios.
    public static var all: [Preset] { builtIn + PatternScenario.all.flatMap(\.presets) }

    /// A step named `name`, edited from the default workload.
    public static func step(named name: String, _ edit: (inout Workload) -> Void) -> Workload { step(name, edit) }

    static let builtIn: [Preset] = [
        Preset(name: "quick", summary: "≤30 s: open loop 20k rec/s of 1 KiB JSON (lz4) with a consumer, then max rate 100 B; embedded", steps: [
            step("open-loop-20k") {
                $0.partitionsPerTopic = 4; $0.producerRate = 20_000; $0.messageSize = 1024; $0.payload = .json
                $0.warmupSeconds = 2; $0.durationSeconds = 8; $0.config = ["compression.type": "lz4", "linger.ms": "1"]
            },
            step("max-rate-100B") {
                $0.partitionsPerTopic = 4; $0.producerRate = 0; $0.messageSize = 100; $0.payload = .json
                $0.warmupSeconds = 1; $0.durationSeconds = 5; $0.config = ["linger.ms": "5"]
            },
        ]),
        Preset(name: "throughput", summary: "max rate, 100 B and 1 KiB records, 8 partitions, a consumer group; embedded", steps: [100, 1024].map { size in
            step("max-rate-\(size == 100 ? "100B" : "1KiB")") {
                $0.partitionsPerTopic = 8; $0.producerRate = 0; $0.messageSize = size
                $0.warmupSeconds = 5; $0.durationSeconds = 20; $0.config = ["linger.ms": "5", "batch.size": "65536"]
            }
        }),
        Preset(name: "latency", summary: "fixed 10k rec/s, linger.ms=0, acks=1, 1 KiB: publish and end-to-end latency; embedded", steps: [
            step("fixed-10k-linger0") {
                $0.partitionsPerTopic = 4; $0.producerRate = 10_000; $0.messageSize = 1024
                $0.warmupSeconds = 5; $0.durationSeconds = 30
                $0.config = ["linger.ms": "0", "acks": "1", "enable.idempotence": "false"]
            },
        ]),
        Preset(name: "e2e-latency", summary: "send → consumer handler: 100k rec/s of 100 B, linger.ms=0, acks=1, 1 partition, 1 Consumer; then 10k rec/s as the same-run baseline; embedded", steps: [100_000, 10_000].map { rate in
            step("e2e-\(rate / 1000)k") {
                $0.partitionsPerTopic = 1; $0.producerRate = Double(rate); $0.messageSize = 100
                $0.warmupSeconds = 2; $0.durationSeconds = 8
                // The consumer parks at once: on 2 shared vCPUs a 50 µs spin before parking
                // (Consumer.pollBlocking(idleSpin:)) made the tail worse, not better (docs/performance.md).
                $0.config = ["linger.ms": "0", "acks": "1", "enable.idempotence": "false"]
            }
        }),
        Preset(name: "durability", summary: "acks=0, 1 and all (fdatasync group commit) at 20k rec/s, 1 KiB; embedded", steps: ["0", "1", "all"].map { acks in
            step("acks-\(acks)") {
                $0.partitionsPerTopic = 4; $0.producerRate = 20_000; $0.messageSize = 1024
                $0.warmupSeconds = 3; $0.durationSeconds = 15
                $0.config = ["acks": acks, "linger.ms": "1"]
                if acks != "all" { $0.config["enable.idempotence"] = "false" }
            }
        }),
        Preset(name: "partitions", summary: "1, 4, 16 and 64 partitions at max rate, 1 KiB; embedded", steps: [1, 4, 16, 64].map { n in
            step("partitions-\(n)") {
                $0.partitionsPerTopic = n; $0.producerRate = 0; $0.messageSize = 1024
                $0.warmupSeconds = 2; $0.durationSeconds = 10; $0.config = ["linger.ms": "5", "segment.bytes": String(64 << 20)]
            }
        }),
        Preset(name: "backlog", summary: "build a 1 GB backlog with consumers stopped, then drain it while producing 50k rec/s; embedded", steps: [
            step("backlog-1GB") {
                $0.partitionsPerTopic = 8; $0.producerRate = 50_000; $0.messageSize = 1024; $0.scenario = .backlog
                $0.consumerBacklogSizeGB = 1; $0.warmupSeconds = 2; $0.durationSeconds = 40; $0.drainTimeoutSeconds = 60
                $0.config = ["linger.ms": "5", "batch.size": "131072"]
            },
        ]),
        Preset(name: "compression", summary: "every codec at max rate on JSON-like text that compresses ~4×; embedded", steps: ["none", "gzip", "snappy", "lz4", "zstd"].map { codec in
            step("codec-\(codec)") {
                $0.partitionsPerTopic = 4; $0.producerRate = 0; $0.messageSize = 1024; $0.payload = .text; $0.compressionRatio = 4
                $0.warmupSeconds = 2; $0.durationSeconds = 10; $0.config = ["compression.type": codec, "linger.ms": "5", "batch.size": "131072"]
            }
        }),
        Preset(name: "batching", summary: "batch.size × linger.ms grid at 50k rec/s, 1 KiB: latency against batching; embedded", steps: [
            ("16384", "0"), ("16384", "5"), ("65536", "5"), ("262144", "20"),
        ].map { (size, linger) in
            step("batch-\(size)-linger-\(linger)") {
                $0.partitionsPerTopic = 4; $0.producerRate = 50_000; $0.messageSize = 1024
                $0.warmupSeconds = 3; $0.durationSeconds = 12; $0.config = ["batch.size": size, "linger.ms": linger]
            }
        }),
        Preset(name: "max-rate-search", summary: "find the highest rate whose publish p99 stays under 5 ms (1 KiB, 4 partitions); embedded", steps: [
            step("find-max-rate") {
                $0.partitionsPerTopic = 4; $0.producerRate = 20_000; $0.messageSize = 1024; $0.mode = .findMaxRate
                $0.maxP99Millis = 5; $0.warmupSeconds = 1; $0.durationSeconds = 4; $0.config = ["linger.ms": "1"]
            },
        ]),
        Preset(name: "generator", summary: "the null backend at max rate: the load generator's own ceiling (records/s, recording cost)", steps: [
            step("null-max-rate") {
                $0.backend = "null"; $0.producerRate = 0; $0.messageSize = 100; $0.subscriptionsPerTopic = 0
                $0.warmupSeconds = 1; $0.durationSeconds = 5
            },
        ]),
        Preset(name: "ci", summary: "≤15 s regression gate: open loop 10k rec/s and max rate, 1 KiB; used by scripts/bench-ci", steps: [
            step("open-loop-10k") {
                $0.partitionsPerTopic = 2; $0.producerRate = 10_000; $0.messageSize = 1024
                $0.warmupSeconds = 1; $0.durationSeconds = 5; $0.config = ["linger.ms": "1"]
            },
            step("max-rate-1KiB") {
                $0.partitionsPerTopic = 2; $0.producerRate = 0; $0.messageSize = 1024
                $0.warmupSeconds = 1; $0.durationSeconds = 4; $0.config = ["linger.ms": "5"]
            },
        ]),
        MachineBaseline.preset,
    ]
}
