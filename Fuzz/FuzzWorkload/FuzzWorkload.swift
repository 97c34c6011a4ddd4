// libFuzzer target: the workload-file loader (YAML and JSON, OMB's field names) on arbitrary
// text. Every input must either load or fail with a `BenchError`; never a signal or a hang.
//
// Built and run by scripts/fuzz (it needs only WeirWorkload, WeirClientAPI with the log core, and
// Yams, not the rest of WeirBench); see docs/campaigns.md.
import WeirWorkload

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let workloads = try? WorkloadFile.parse(text, source: "fuzz") {
        for w in workloads { _ = w.name }
    }
    return 0
}
