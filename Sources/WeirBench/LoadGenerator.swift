import Foundation
import Histogram
import Synchronization
public import WeirClientAPI

/// Runs one workload step against a client: producer and consumer threads, open-loop
/// scheduling, per-thread histograms merged by a collector thread, a live line every
/// `reportIntervalSeconds`, then a clean drain.
///
/// Open loop: producer `j` of `P` sends record `i` at its intended time
/// `start + (j / P + ⌊i / burst⌋ · burst) · P / rate`; it never waits for an acknowledgement,
/// and every latency is measured from the intended time, so a stall anywhere delays the
/// records scheduled during it and shows in their latency. Up to `maxThreadsPerSide`
/// producers (and consumers) get a thread each; more share them, each on its own schedule.
///
/// The step's `config` is split by `ClientProperties.route`: producer properties to every
/// producer, consumer properties to every consumer, topic properties (and `topic.`-prefixed
/// keys) to the topics it creates.
public struct LoadGenerator: Sendable {
    public var workload: Workload
    /// The client the step runs on: the embedded log, a Kafka cluster, `NullClient`, or a
    /// pattern scenario's client over one of them.
    public var client: any MessagingClient
    /// Receives the live lines (and scenario events) while the step runs.
    public var progress: @Sendable (String) -> Void
    /// Receives every closed interval for `--metrics-listen`; nil = none.
    public var live: LiveMetrics?
    /// The most producer threads, and consumer threads, the step starts; more producers or
    /// consumers than this share them (see `Workload.maxThreadsPerSide`).
    public var maxThreadsPerSide = Workload.maxThreadsPerSide

    public init(workload: Workload, client: any MessagingClient, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.workload = workload
        self.client = client
        self.progress = progress
    }

    /// Runs the step and returns its result. `close()` of the client is the caller's.
    public func run() async throws(BenchError) -> StepResult {
        var step = workload
        try step.validate()
        let runID = try step.groupRunID()
        if let share = step.worker {
            if step.isMaxRate == false && step.producersPerTopic > 0 && share.share(of: step.producersPerTopic) == 0 && step.producerRate > 0 {
                progress("worker \(share.label): no producers in this share (producersPerTopic=\(step.producersPerTopic))")
            }
            step = step.shared(by: share)
        }
        let properties = ClientProperties.route(step.config)
        if let topic = step.topic {
            step.partitionsPerTopic = try await _existingTopic(topic)
            if step.isConsumeOnly { step.warmupSeconds = 0 }
        } else {
            step.topicStem = try await _topicStem(for: step)
            try await _createTopics(step.topicNames, partitions: step.partitionsPerTopic, configs: properties.topic)
        }
        let w = step
        let pool = try PayloadPool.make(for: w)
        let keys = KeySource(w)
        let topics = w.topicNames

        // Consumers first, in groups new to this run unless `runID` names them (so that a rerun
        // on the same cluster or log directory never resumes an earlier run's offsets; the
        // workers of one run share their groups through the run ID they are given), settled at
        // the end of each topic before the schedule starts, so they see every record.
        var madeConsumers: [any MessageConsumer] = []
        var memberOf: [(topic: String, group: String)] = []
        var consumerGroups: [(topic: String, members: [any MessageConsumer])] = []
        for topic in topics {
            for g in 0..<w.subscriptionsPerTopic {
                var members: [any MessageConsumer] = []
                let group = "weir-bench-group-\(g).\(topic).\(runID)"
                for m in 0..<w.consumerPerSubscription {
                    members.append(try await _makeConsumer(topic: topic, group: group, member: m, properties: properties.consumer))
                    memberOf.append((topic, group))
                }
                madeConsumers += members
                consumerGroups.append((topic, members))
            }
        }
        do {
            try await _settle(groups: consumerGroups, share: (w.worker?.count ?? 1) > 1)
            // (A pattern scenario's consumers read the pattern's own feed, not group offsets.)
            if !w.isConsumeOnly && w.pattern == nil { try await _pinStart(consumerGroups) }
        } catch {
            for c in madeConsumers { await c.close() }
            throw error
        }
        // Consume-only: every group reads the topic from its start, up to `records` (or what
        // it holds now) per group.
        var consumeTarget = 0
        if w.isConsumeOnly {
            do {
                consumeTarget = try await _rewind(consumerGroups, topic: topics[0], partitions: w.partitionsPerTopic, records: w.records)
            } catch {
                for c in madeConsumers { await c.close() }
                throw error
            }
        }

        let intervalNanos: UInt64 = 1_000_000_000
        let warmup = UInt64(w.warmupSeconds * 1e9)
        let duration = UInt64(w.durationSeconds * 1e9)
        // Everything is timed from `start`, a little ahead so that every thread is up; it moves
        // later when making the producers takes longer than that (below).
        let start0 = monotonicNanos() + 50_000_000
        let origin0 = start0 + warmup
        let inbox = _Inbox()
        let shared = _Shared()
        // Backlog: consumers wait for the backlog. Consume-only: they wait for the window's start.
        if w.scenario == .backlog || w.isConsumeOnly { shared.consumersPaused.store(true, ordering: .relaxed) }
        // Each consumer in a slot that `restartConsumer` can refill with a new member of its group.
        let consumerProperties = properties.consumer
        let slots: [_ConsumerSlot] = madeConsumers.indices.map { i in
            let (topic, group) = memberOf[i]
            return _ConsumerSlot(madeConsumers[i]) { [self] () async throws(BenchError) in
                try await _makeConsumer(topic: topic, group: group, member: 1_000 + i, properties: consumerProperties)
            }
        }
        // Threads: one per consumer and per producer up to `maxThreadsPerSide` each;
        // beyond that every thread drives several (consumer or producer `i` on thread
        // `i % threads`, so the members of one group poll from different threads). Each
        // thread has its own recorders.
        let consumerLanes = _deal(slots.count, threads: maxThreadsPerSide).map { members in
            (members.map { (index: $0, slot: slots[$0]) },
             LatencyRecorder(kind: .endToEnd, counter: .consumed, inbox: inbox, origin: origin0, intervalNanos: intervalNanos))
        }
        let total = topics.count * w.producersPerTopic
        let producerLanes = _deal(total, threads: maxThreadsPerSide)
        let rings: [_DeliveryRing] = producerLanes.map { _ in
            let sink = DeliverySink(recorder: LatencyRecorder(kind: .publish, counter: .acked, inbox: inbox, origin: origin0, intervalNanos: intervalNanos), acked: _Counts())
            shared.sinks.append(sink.acked)
            return _DeliveryRing(sink: sink)
        }
        let delays = producerLanes.map { _ in
            LatencyRecorder(kind: .publishDelay, counter: .sent, inbox: inbox, origin: origin0, intervalNanos: intervalNanos, recordsLatency: !w.isMaxRate)
        }
        var producers: [_BenchProducer] = []
        for topic in topics {
            for _ in 0..<w.producersPerTopic {
                producers.append(try await _makeProducer(topic: topic, index: producers.count, ring: rings[producers.count % rings.count],
                                                         properties: properties.producer,
                                                         transactionNanos: UInt64((w.transactionDurationMs ?? 3000) * 1e6)))
            }
        }
        // Making producers takes time (hundreds of them; a cluster's metadata): the schedule
        // starts after the last one, or the first records would be charged the setup as latency.
        let shift = max(monotonicNanos() + 50_000_000, start0) - start0
        let start = start0 + shift
        let origin = origin0 + shift
        let end = w.records > 0 ? UInt64.max : origin + duration
        if shift > 0 {
            for (_, recorder) in consumerLanes { recorder._setOrigin(origin) }
            for ring in rings { ring.sink.recorder._setOrigin(origin) }
            for delay in delays { delay._setOrigin(origin) }
        }

        do {
            try _checkFaults(w, producers: producers, consumers: slots.count)
        } catch {
            for p in producers { await p.close() }
            for c in madeConsumers { await c.close() }
            throw error
        }

        inbox.refillSpares()
        let cpu0 = processCPUNanos()
        let collector = _Collector(inbox: inbox, origin: origin, intervalNanos: intervalNanos, workload: w, progress: progress, shared: shared, start: start)
        collector.liveMetrics = live
        let collectorThread = _spawn("weir-collector") { collector.loop() }

        var consumerThreads: [_Joinable] = []
        for (i, (lane, rec)) in consumerLanes.enumerated() {
            let delayNanos = w.scenario == .slowConsumer ? UInt64(w.consumerDelayMicros * 1000) : 0
            consumerThreads.append(_spawn("weir-consumer-\(i)") {
                _consumerLoop(lane, rec, shared: shared, delayPerRecord: delayNanos, stampInValue: w.pattern != nil,
                              measureLatency: !w.isConsumeOnly, wallClock: w.worker != nil, progress: progress)
            })
        }
        if w.isConsumeOnly {
            while monotonicNanos() < origin { try? await Task.sleep(for: .milliseconds(1)) }
            shared.consumersPaused.store(false, ordering: .relaxed)
        }
        var producerThreads: [_Joinable] = []
        for (t, lane) in producerLanes.enumerated() {
            let cursors = lane.map { j in
                var plan = _ProducerPlan(
                    index: j, count: total, start: start, end: end,
                    rate: w.isMaxRate ? 0 : w.producerRate / Double(max(total, 1)), burst: w.burst,
                    records: w.records > 0 ? w.records / total + (j < w.records % total ? 1 : 0) : 0)
                // A paced producer this far behind its schedule stops (the window's end plus a
                // tenth of it, at least 1 s) and counts what it never sent, instead of running on
                // for as long as it takes to catch up with an unreachable rate.
                if w.records == 0 { plan.overrun = end &+ max(1_000_000_000, duration / 10) }
                var cursor = _ProducerCursor(producers[j], plan: plan)
                // Fewer records than producers: this one has none to send.
                if w.records > 0 && plan.records == 0 { cursor.live = false }
                return cursor
            }
            producerThreads.append(_spawn("weir-producer-\(t)") {
                _producerLoop(cursors, delays[t], pool: pool, keys: keys, shared: shared)
            })
        }
        let timeline = (w.faults ?? []).isEmpty ? nil : Task { [self, producers] in
            await _runFaults(w.faults ?? [], origin: origin, shared: shared, producers: producers)
        }
        for t in producerThreads { await t.join() }
        let faultWindows = await timeline?.value ?? []
        let producersDone = monotonicNanos()
        shared.producersDone.store(true, ordering: .relaxed)
        if shared.consumersPaused.exchange(false, ordering: .relaxed) {
            progress("backlog: producers finished before the backlog was built; consumers start now")
            shared.backlogBuiltAt.store(producersDone, ordering: .relaxed)
        }
        for p in producers { await p.flush() }

        // Drain: wait for the consumers to read everything that was acknowledged.
        let groups = w.subscriptionsPerTopic
        var undrained = 0
        var consumeDone: UInt64 = 0
        if w.worker != nil && groups > 0 && !slots.isEmpty {
            // The groups read every worker's records: wait until they go quiet.
            _ = await _awaitConsumed(.max, shared: shared, until: monotonicNanos() + UInt64(w.drainTimeoutSeconds * 1e9), exact: false)
        } else if w.isConsumeOnly {
            (consumeDone, undrained) = await _awaitConsumed(consumeTarget, shared: shared, until: origin + duration + UInt64(w.drainTimeoutSeconds * 1e9),
                                                            exact: w.records > 0)
        } else if groups > 0 && !slots.isEmpty {
            let deadline = monotonicNanos() + UInt64(w.drainTimeoutSeconds * 1e9)
            while true {
                let ok = shared.ackedTotal - shared.failedTotal
                let expected = ok * groups
                let got = shared.consumed.load(ordering: .relaxed)
                if got >= expected - w.backlogAllowance { break }
                if monotonicNanos() >= deadline {
                    undrained = expected - got
                    progress("drain: \(undrained) records still unconsumed after drainTimeoutSeconds=\(w.drainTimeoutSeconds)")
                    break
                }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        if undrained == 0 && shared.backlogBuiltAt.load(ordering: .relaxed) > 0 && shared.backlogDrainedAt.load(ordering: .relaxed) == 0 {
            // The consumers caught up during the final drain.
            shared.backlogDrainedAt.store(monotonicNanos(), ordering: .relaxed)
        }
        shared.consumersStop.store(true, ordering: .relaxed)
        for t in consumerThreads { await t.join() }
        var failedRecords: Int64 = 0
        var batchBytes: Int64 = 0
        var uncompressedBytes: Int64 = 0
        for p in producers {
            guard let st = await p.producer.producerStatistics() else { continue }
            failedRecords += st.recordsFailed
            batchBytes += st.bytesSent
            uncompressedBytes += st.uncompressedBytesSent
        }
        for p in producers { await p.close() }
        for ring in rings { ring.sink.recorder.finish() }
        for slot in slots { await slot.close() }
        let cpu = processCPUNanos() - cpu0
        collector.stop.store(true, ordering: .relaxed)
        await collectorThread.join()
        collector.drainInbox(closeAll: true)

        // Summary.
        var s = StepSummary(name: w.name, backend: client.backendName, workload: w)
        s.warmupSeconds = w.warmupSeconds
        s.targetRate = w.isMaxRate ? 0 : w.producerRate
        let lastSend = shared.lastSend.load(ordering: .relaxed)
        let windowNanos = w.isConsumeOnly ? max(consumeDone &- min(consumeDone, origin), 1)
            : w.records > 0 ? (lastSend > origin ? lastSend - origin : 1) : duration
        s.durationSeconds = Double(windowNanos) / 1e9
        let window = collector.windowCounts(windowNanos: windowNanos)
        s.produce.records = window.acked
        s.produce.bytes = window.ackedBytes
        s.produce.errors = window.errors
        s.consume.records = window.consumed
        s.consume.bytes = window.consumedBytes
        let secs = max(s.durationSeconds, 1e-9)
        s.produce.recordsPerSec = Double(s.produce.records) / secs
        s.produce.mbPerSec = Double(s.produce.bytes) / secs / 1e6
        s.consume.recordsPerSec = Double(s.consume.records) / secs
        s.consume.mbPerSec = Double(s.consume.bytes) / secs / 1e6
        for kind in LatencyKind.allCases {
            if let h = collector.totals[kind.index], h.totalCount > 0 { s.latency[kind.rawValue] = LatencyStats(h) }
        }
        var details = await client.details()
        let consumeErrors = shared.consumeErrors.load(ordering: .relaxed)
        if consumeErrors > 0 { details["consumer_poll_errors"] = String(consumeErrors) }
        let transactions = producers.reduce(0) { $0 + $1.transactionsCommitted.load(ordering: .relaxed) }
        if transactions > 0 { details["transactions_committed"] = String(transactions) }
        if let topic = w.topic { details["topic"] = topic }
        if !slots.isEmpty && !w.isConsumeOnly { details["run_id"] = runID }
        if let share = w.worker {
            details["worker"] = share.label
            details["end_to_end_clock"] = "record timestamp (ms, wall clock): across hosts only as good as their clock sync"
        }
        if !details.isEmpty { s.backendDetails = details }
        let recordBytes = shared.sentBytes.load(ordering: .relaxed)
        // The codec's ratio on the batches (Kafka's compression-rate-avg, inverted: 1.00 for
        // `none`), where the backend counts uncompressed batch bytes; else payload / batch bytes.
        if batchBytes > 0 { s.compressionRatio = Double(uncompressedBytes > 0 ? uncompressedBytes : Int64(recordBytes)) / Double(batchBytes) }
        s.cpuSeconds = Double(cpu) / 1e9
        s.hostStealSeconds = collector.stealNanos(windowNanos: windowNanos).map { Double($0) / 1e9 }
        if recordBytes > 0 { s.cpuSecondsPerGB = s.cpuSeconds / (Double(recordBytes) / 1e9) }
        s.errors = Int(failedRecords) + shared.failedTotal
        s.undrained = undrained
        let unsent = shared.unsent.load(ordering: .relaxed)
        if unsent > 0 {
            s.unsent = unsent
            progress("producers fell behind the target rate: \(unsent) scheduled records were not sent by the window's end plus its grace; the achieved rate is the sustainable one")
        }
        if w.scenario == .backlog {
            let built = shared.backlogBuiltAt.load(ordering: .relaxed)
            let drained = shared.backlogDrainedAt.load(ordering: .relaxed)
            s.backlog = BacklogSummary(
                backlogBytes: Int(w.consumerBacklogSizeGB * 1e9),
                buildSeconds: built > start ? Double(built - start) / 1e9 : 0,
                drainSeconds: drained > built && built > 0 ? Double(drained - built) / 1e9 : nil)
        }
        var histograms: [LatencyKind: Histogram<UInt64>] = [:]
        for kind in LatencyKind.allCases { if let h = collector.totals[kind.index], h.totalCount > 0 { histograms[kind] = h } }
        let measureStartEpoch = Date().timeIntervalSince1970 - (Double(monotonicNanos()) - Double(origin)) / 1e9
        var rows = collector.rows()
        if !faultWindows.isEmpty {
            s.faults = FaultWindow.summarize(faultWindows, origin: origin, rows: &rows)
        }
        return StepResult(summary: s, intervals: rows, histograms: histograms, intervalHistograms: collector.intervalHistograms, measureStartEpoch: measureStartEpoch)
    }
}

