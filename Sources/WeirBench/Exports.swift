// The workload model and loader live in WeirWorkload (so that the fuzz target FuzzWorkload
// builds without WeirPatterns and its packages); every user of WeirBench sees them as before.
@_exported public import WeirWorkload
