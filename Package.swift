// swift-tools-version: 6.1
//
// Weir: a benchmark and load-generation suite for Kafka-style streaming, built on an
// embedded mmap segment log that writes Kafka's own on-disk format.
//
// The log core (WeirCompression, WeirFormat, WeirLog) depends on no Swift package: only the
// toolchain and the system codec libraries. package-benchmark lives in the separate package
// under Benchmarks/ so that its build cost stays out of `swift build` and `swift test`.
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "weir",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "weir", targets: ["weir"]),
        .library(name: "WeirRandom", targets: ["WeirRandom"]),
        .library(name: "WeirCompression", targets: ["WeirCompression"]),
        .library(name: "WeirFormat", targets: ["WeirFormat"]),
        .library(name: "WeirLog", targets: ["WeirLog"]),
        .library(name: "WeirClientAPI", targets: ["WeirClientAPI"]),
        .library(name: "WeirClient", targets: ["WeirClient"]),
        .library(name: "WeirPatterns", targets: ["WeirPatterns"]),
        .library(name: "WeirBench", targets: ["WeirBench"]),
        .library(name: "WeirKafka", targets: ["WeirKafka"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // WeirPatterns: encryption, logging, metrics, tracing, service lifecycle.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // WeirServer: the Kafka wire protocol over TCP (and TLS).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // System library shims (apt: libzstd-dev, liblz4-dev, libsnappy-dev, zlib1g-dev).
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Weir's own C: CRC-32C (SSE4.2 with a table fallback) and syscalls that need _GNU_SOURCE.
        .target(name: "CWeirSupport", cSettings: [.unsafeFlags(["-O2"])]),

        // The one seeded generator (SplitMix64): bench payloads, microbenchmarks, tests.
        .target(name: "WeirRandom", swiftSettings: strictSettings),
        .target(
            name: "WeirCompression",
            dependencies: ["CZstd", "CLZ4", "CSnappy", "CZlib"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "WeirFormat",
            dependencies: ["WeirCompression", "CWeirSupport"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "WeirLog",
            dependencies: ["WeirFormat", "CWeirSupport"],
            swiftSettings: strictSettings
        ),
        // The client seam: the protocols every backend implements (embedded, Kafka), ClientError,
        // the record types and the one table of client property names.
        .target(
            name: "WeirClientAPI",
            dependencies: ["WeirCompression", "WeirFormat", "WeirLog"],
            swiftSettings: strictSettings
        ),
        // The embedded backend: producer, consumer, groups, admin on top of the log.
        .target(
            name: "WeirClient",
            dependencies: ["WeirLog", "WeirClientAPI", "CWeirSupport"],
            swiftSettings: strictSettings
        ),
        // The Kafka wire protocol: generated request/response codecs, reader, writer and frame
        // decoder (NIOCore only; the fuzz target FuzzKafkaRequest needs nothing more).
        .target(
            name: "WeirKafkaProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        // `weir serve`: the Kafka wire protocol over the embedded log and WeirClient's coordinator.
        .target(
            name: "WeirServer",
            dependencies: [
                "WeirLog", "WeirClient", "WeirFormat", "WeirKafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // The patterns of the reference document as components over the client protocols.
        .target(
            name: "WeirPatterns",
            dependencies: [
                "WeirClient", "CSQLite",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Workloads, payloads, measurement and reports.
        .target(
            name: "WeirBench",
            dependencies: [
                "WeirCompression", "WeirFormat", "WeirClientAPI", "WeirPatterns", "WeirRandom", "CZlib",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        // A real Kafka cluster through librdkafka, behind the client seam.
        .target(
            name: "WeirKafka",
            dependencies: ["CRdKafka", "WeirClientAPI"],
            swiftSettings: strictSettings
        ),
        // The CLI: parsing and printing only. Commands live in WeirCLI so tests can drive them.
        .target(
            name: "WeirCLI",
            dependencies: [
                "WeirCompression", "WeirFormat", "WeirLog", "WeirClientAPI", "WeirClient", "WeirPatterns", "WeirBench", "WeirKafka", "WeirServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "weir", dependencies: ["WeirCLI"], swiftSettings: strictSettings),
        // A child process for WeirLogTests' crash tests (appends with acks=all until killed).
        .executableTarget(name: "weir-log-crash-writer", dependencies: ["WeirLog", "WeirTestSupport"], swiftSettings: strictSettings),

        .testTarget(name: "WeirCompressionTests", dependencies: ["WeirCompression", "WeirTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "WeirFormatTests", dependencies: ["WeirFormat", "CWeirSupport", "WeirTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "WeirLogTests", dependencies: ["WeirLog", "WeirTestSupport"], swiftSettings: strictSettings),
        // Helpers shared by test targets (not part of any product).
        .target(name: "WeirTestSupport", dependencies: ["WeirRandom"], path: "Tests/WeirTestSupport", swiftSettings: strictSettings),
        .testTarget(name: "WeirClientTests", dependencies: ["WeirClient", "WeirTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "WeirPatternsTests", dependencies: ["WeirPatterns", "WeirClient", "WeirTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "WeirBenchTests", dependencies: ["WeirBench", "WeirClientAPI", "WeirClient", "WeirTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "WeirKafkaTests", dependencies: ["WeirKafka", "WeirClientAPI", "WeirBench", "CRdKafka"], swiftSettings: strictSettings),
        .testTarget(name: "WeirServerTests", dependencies: ["WeirServer", "WeirClient", "WeirLog", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"), "WeirFormat"], swiftSettings: strictSettings),
        .testTarget(name: "WeirCLITests", dependencies: ["WeirCLI", "WeirClient", "WeirTestSupport"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)

// `WEIR_LOG_CORE_ONLY=1` narrows the package to the log core and its tests (no Swift package
// dependencies), for the thread-sanitized build of scripts/test: the concurrency suite needs
// only WeirLog, and sanitizing the whole dependency graph would double CI's build time.
if Context.environment["WEIR_LOG_CORE_ONLY"] == "1" {
    let core: Set<String> = ["CZstd", "CLZ4", "CSnappy", "CZlib", "CWeirSupport", "WeirCompression", "WeirFormat", "WeirLog",
                             "weir-log-crash-writer", "WeirLogTests", "WeirRandom", "WeirTestSupport"]
    package.targets = package.targets.filter { core.contains($0.name) }
    package.products = []
    package.dependencies = []
}

// `WEIR_FUZZ=1` adds the libFuzzer targets of Fuzz/ (built only by scripts/fuzz, with
// libFuzzer and AddressSanitizer in its own scratch path; never part of `swift build`).
// With `WEIR_LOG_CORE_ONLY=1` as well, only the log-core targets are added.
if Context.environment["WEIR_FUZZ"] == "1" {
    let coreOnly = Context.environment["WEIR_LOG_CORE_ONLY"] == "1"
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzRecordBatch", ["WeirFormat"]),
        ("FuzzDecompress", ["WeirCompression"]),
        ("FuzzIndex", ["WeirLog"]),
        ("FuzzSegmentRecovery", ["WeirLog"]),
    ] + (coreOnly ? [] : [
        ("FuzzWorkload", ["WeirBench"]),
        ("FuzzKafkaRequest", ["WeirKafkaProtocol", .product(name: "NIOCore", package: "swift-nio"),
                              .product(name: "NIOEmbedded", package: "swift-nio")]),
    ])
    for t in fuzzTargets {
        package.targets.append(.executableTarget(name: t.name, dependencies: t.dependencies, path: "Fuzz/\(t.name)",
                                                 swiftSettings: strictSettings))
    }
}
