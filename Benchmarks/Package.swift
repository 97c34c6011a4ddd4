// swift-tools-version: 6.1
//
// Weir's package-benchmark microbenchmarks. A separate package that depends on the main one by
// path, so that package-benchmark (and its malloc interposer) never enters `swift build` or
// `swift test` of the main package. Run with:
//
//     cd Benchmarks && swift package benchmark
//
// Each target is `Benchmarks/<Target>/<Target>.swift`, with its thresholds declared in code.
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, which differs between clones.
let weirPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent

let benchmarkDeps: [Target.Dependency] = [
    "BenchmarkSupport",
    .product(name: "Benchmark", package: "benchmark"),
    .product(name: "WeirCompression", package: weirPackage),
    .product(name: "WeirFormat", package: weirPackage),
    .product(name: "WeirLog", package: weirPackage),
    .product(name: "WeirRandom", package: weirPackage),
]

func benchmarkTarget(_ name: String, extra: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: benchmarkDeps + extra,
        path: "Benchmarks/\(name)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

let package = Package(
    name: "weir-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // What the benchmark targets share (metrics, scratch logs, elapsed time).
        .target(
            name: "BenchmarkSupport",
            dependencies: [.product(name: "Benchmark", package: "benchmark"), .product(name: "WeirLog", package: weirPackage)],
            path: "Benchmarks/BenchmarkSupport"
        ),
        benchmarkTarget("CompressionBenchmarks"),
        benchmarkTarget("FormatBenchmarks"),
        benchmarkTarget("LogBenchmarks"),
        benchmarkTarget("ClientBenchmarks", extra: [.product(name: "WeirClient", package: weirPackage)]),
        benchmarkTarget("ConsumerBenchmarks", extra: [.product(name: "WeirClient", package: weirPackage)]),
        benchmarkTarget("BenchBenchmarks", extra: [.product(name: "WeirBench", package: weirPackage)]),
    ],
    swiftLanguageModes: [.v6]
)
