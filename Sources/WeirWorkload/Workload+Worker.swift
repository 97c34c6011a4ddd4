/// `--worker I/N`: this process runs the I-th of N shares of a workload's producers and
/// consumers (OMB's workers), so that N processes, on one host or several, run the workload
/// together against one cluster; `weir bench merge` then merges their run directories.
public struct WorkerShare: Sendable, Codable, Equatable {
    /// 0-based.
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses `I/N` (I in 0..<N, N in 1…1024).
    public static func parse(_ text: String) throws(BenchError) -> WorkerShare {
        let parts = text.split(separator: "/").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, n <= 1_024, i >= 0, i < n else {
            throw .usage("--worker: '\(text)' is not I/N with 0 ≤ I < N ≤ 1024, e.g. --worker 0/2 and --worker 1/2 on two hosts.")
        }
        return WorkerShare(index: i, count: n)
    }

    /// This worker's share of `total` things dealt out in turn.
    package func share(of total: Int) -> Int { total / count + (index < total % count ? 1 : 0) }

    public var label: String { "\(index)/\(count)" }
}

extension Workload {
    /// This worker's share: per topic, its turn of the producers (with their part of the rate
    /// and of `records`) and of each group's consumers (a worker with none of a group's
    /// consumers has no groups). The groups keep one name across workers.
    public func shared(by worker: WorkerShare) -> Workload {
        var w = self
        w.producersPerTopic = worker.share(of: producersPerTopic)
        let fraction = producersPerTopic > 0 ? Double(w.producersPerTopic) / Double(producersPerTopic) : 0
        w.producerRate = producerRate * fraction
        if records > 0 { w.records = worker.share(of: records) }
        let consumers = worker.share(of: consumerPerSubscription)
        if consumers == 0 { w.subscriptionsPerTopic = 0 } else { w.consumerPerSubscription = consumers }
        return w
    }
}

extension Workload {
    /// The last part of the step's consumer group names: `runID` and the step's name when
    /// `runID` is set (so that the steps of one run use groups of their own), else a fresh
    /// random one. The workers of one run with consumers must be given one (they cannot agree on a
    /// fresh name by themselves, and a name derived from the workload would resume the offsets
    /// of every earlier run of it).
    ///
    /// - Throws: `.usage` when `runID` is not a valid group-name part, or is missing on a worker
    ///   of several with consumers.
    public func groupRunID() throws(BenchError) -> String {
        if let runID {
            guard !runID.isEmpty, runID.count <= 100, runID.unicodeScalars.allSatisfy(Self._groupNameScalar) else {
                throw .usage("--run-id '\(runID)': use 1…100 of the characters a-z A-Z 0-9 . _ - (it ends the consumer group names), e.g. --run-id $(date +%s).")
            }
            var step = ""
            for c in name.unicodeScalars.prefix(60) { step.unicodeScalars.append(Self._groupNameScalar(c) ? c : "_") }
            return "\(runID).\(step)"
        }
        if let worker, worker.count > 1, subscriptionsPerTopic > 0, consumerPerSubscription > 0 {
            throw .usage("--worker \(worker.label) with consumers needs --run-id ID: give every worker of this run the same fresh ID (e.g. --run-id $(date +%s)), so that their consumers share each group and no later run resumes its offsets.")
        }
        return String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    static func _groupNameScalar(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "." || c == "_" || c == "-"
    }
}
