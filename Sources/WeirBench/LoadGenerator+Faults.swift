import Foundation
import Synchronization
import WeirClientAPI

// Faults on a step's timeline: what each kind does to the running step, and what the summary
// says about each window.

/// A consumer of a consumer thread, which `restartConsumer` replaces while the step runs.
final class _ConsumerSlot: Sendable {
    /// The consumer, and whether it is away (closed, its replacement not yet made).
    let state: Mutex<(consumer: any MessageConsumer, away: Bool)>
    /// The restart under way, if any.
    let restarting = Mutex<_Joinable?>(nil)
    /// Makes the replacement: a new member of the same group on the same topic.
    let remake: @Sendable () async throws(BenchError) -> any MessageConsumer

    init(_ consumer: any MessageConsumer, remake: @escaping @Sendable () async throws(BenchError) -> any MessageConsumer) {
        state = Mutex((consumer, false))
        self.remake = remake
    }

    var current: any MessageConsumer { state.withLock { $0.consumer } }

    /// The consumer to poll, or nil while it is away.
    var available: (any MessageConsumer)? { state.withLock { $0.away ? nil : $0.consumer } }

    /// Called by the thread that polls it (so no poll is under way): marks it away, and on a
    /// thread of its own (the polling thread goes on with its other consumers) closes it,
    /// waits `downNanos` and joins a new member in its place (two rebalances of its group).
    func beginRestart(downNanos: UInt64, progress: @escaping @Sendable (String) -> Void) {
        let old = state.withLock { s in
            s.away = true
            return s.consumer
        }
        let thread = _spawn("weir-consumer-restart") { [self] in
            _ = _blockOn { () async throws(ClientError) in await old.close() }
            sleepNanos(downNanos)
            let made = Mutex<(any MessageConsumer)?>(nil)
            let failure = Mutex<BenchError?>(nil)
            _ = _blockOn { [remake] () async throws(ClientError) in
                do throws(BenchError) { let c = try await remake(); made.withLock { $0 = c } } catch { failure.withLock { $0 = error } }
            }
            guard let c = made.withLock({ $0 }) else {
                progress("restartConsumer: the new member could not be made: \(failure.withLock { $0 }?.message ?? "?"); the consumer stays away")
                return
            }
            state.withLock { $0 = (c, false) }
        }
        restarting.withLock { $0 = thread }
    }

    /// Waits for a restart under way, then closes the consumer.
    func close() async {
        if let thread = restarting.withLock({ $0 }) { await thread.join() }
        await current.close()
    }
}

extension LoadGenerator {
    /// Checks before the step starts that the backend can inject each fault, and that each
    /// ends inside the measured window.
    func _checkFaults(_ w: Workload, producers: [_BenchProducer], consumers: Int) throws(BenchError) {
        for f in w.faults ?? [] {
            if w.records == 0 && f.atSeconds + f.durationSeconds > w.durationSeconds {
                throw .usage("faults: \(f.label) at \(f.atSeconds) s for \(f.durationSeconds) s ends after the measured window (durationSeconds=\(w.durationSeconds)); move it earlier or measure longer.")
            }
            switch f.kind {
            case .pauseConsumers, .restartConsumer:
                if consumers == 0 { throw .usage("faults: \(f.label) needs consumers (subscriptionsPerTopic ≥ 1).") }
                // A rejoin blocks the thread that polls the member until the whole group has
                // rejoined: the members of a group must poll from threads of their own.
                if f.kind == .restartConsumer && w.consumerPerSubscription > maxThreadsPerSide {
                    throw .usage("faults: restartConsumer needs each group's members on threads of their own: consumerPerSubscription=\(w.consumerPerSubscription) is over the \(maxThreadsPerSide) consumer threads; lower it.")
                }
            case .stallAppends:
                if producers.isEmpty || producers.contains(where: { !($0.producer is any AppendStallingProducer) }) {
                    throw .usage("faults: stallAppends needs producers on the embedded log (the \(client.backendName) backend's producers cannot stall their appends).")
                }
            case .brokerDown:
                if !(client is any BrokerFaultClient) {
                    throw .usage("faults: brokerDown needs the kafka backend with librdkafka's mock cluster (--bootstrap-servers mock:N).")
                }
            }
        }
    }

    /// Runs the timeline: each fault starts `atSeconds` after `origin` and is undone after its
    /// duration. Returns each fault's actual window (monotonic ns).
    func _runFaults(_ faults: [Fault], origin: UInt64, shared: _Shared, producers: [_BenchProducer]) async -> [(Fault, UInt64, UInt64)] {
        var windows: [(Fault, UInt64, UInt64)] = []
        for f in faults.sorted(by: { $0.atSeconds < $1.atSeconds }) {
            let at = origin &+ UInt64(f.atSeconds * 1e9)
            let downNanos = UInt64(f.durationSeconds * 1e9)
            while monotonicNanos() < at { try? await Task.sleep(for: .milliseconds(1)) }
            let start = monotonicNanos()
            progress("fault: \(f.label) for \(f.durationSeconds) s")
            switch f.kind {
            case .pauseConsumers:
                shared.consumersPaused.store(true, ordering: .relaxed)
                try? await Task.sleep(for: .nanoseconds(downNanos))
                shared.consumersPaused.store(false, ordering: .relaxed)
            case .restartConsumer:
                shared.restartDownNanos.store(downNanos, ordering: .relaxed)
                shared.restartRequest.store(0, ordering: .relaxed)
                try? await Task.sleep(for: .nanoseconds(downNanos))
            case .stallAppends:
                // On a thread of its own: a stalled append may hold every thread of the
                // cooperative pool (drainer tasks), and a task could then never end the stall.
                let stalling = producers.compactMap { $0.producer as? any AppendStallingProducer }
                await _spawn("weir-fault-stall") {
                    for p in stalling { p.stallAppends(true) }
                    sleepNanos(downNanos)
                    for p in stalling { p.stallAppends(false) }
                }.join()
            case .brokerDown:
                let id = f.broker ?? 1
                do {
                    try (client as? any BrokerFaultClient)?.setBroker(id, up: false)
                    try? await Task.sleep(for: .nanoseconds(downNanos))
                    try (client as? any BrokerFaultClient)?.setBroker(id, up: true)
                } catch {
                    progress("fault: brokerDown \(id) failed: \(error.message)")
                }
            }
            windows.append((f, start, monotonicNanos()))
        }
        return windows
    }
}

extension FaultWindow {
    /// Each window's latency and recovery from the step's per-second rows; marks the rows
    /// the windows touch (`IntervalRow.fault`).
    static func summarize(_ windows: [(Fault, UInt64, UInt64)], origin: UInt64, rows: inout [IntervalRow]) -> [FaultWindow] {
        guard !windows.isEmpty else { return [] }
        func seconds(_ t: UInt64) -> Double { Double(Int64(bitPattern: t &- origin)) / 1e9 }
        let spans = windows.map { (f, s, e) in (f, seconds(s), seconds(e)) }
        for i in rows.indices where rows[i].second >= 0 {
            let lo = Double(rows[i].second), hi = lo + 1
            let labels = spans.filter { $0.1 < hi && $0.2 > lo }.map { $0.0.label }
            if !labels.isEmpty { rows[i].fault = labels.joined(separator: "+") }
        }
        let kind: LatencyKind = rows.contains { $0.latency[.endToEnd] != nil } ? .endToEnd : .publish
        let firstStart = spans.map(\.1).min() ?? 0
        let before = rows.filter { $0.second >= 0 && Double($0.second + 1) <= firstStart }.compactMap { $0.latency[kind]?.p99 }.sorted()
        let baseline = before.isEmpty ? nil : before[before.count / 2]
        return spans.map { (f, start, end) in
            var w = FaultWindow(fault: f.label, atSeconds: start, durationSeconds: end - start)
            let touched = rows.filter { $0.second >= 0 && Double($0.second) < end && Double($0.second + 1) > start }
            for k in LatencyKind.allCases {
                let stats = touched.compactMap { $0.latency[k] }
                if let p99 = stats.map(\.p99).max() { w.p99Micros[k.rawValue] = p99 }
                if let max = stats.map(\.max).max() { w.maxMicros[k.rawValue] = max }
            }
            if let baseline {
                let bound = Swift.max(1.5 * baseline, baseline + 1_000)
                if let healthy = rows.first(where: { Double($0.second) >= end.rounded(.down) && ($0.latency[kind]?.p99 ?? .infinity) <= bound }) {
                    w.recoverySeconds = Swift.max(0, Double(healthy.second) - end)
                }
            }
            return w
        }
    }
}
