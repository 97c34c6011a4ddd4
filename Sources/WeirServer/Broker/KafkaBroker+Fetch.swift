internal import WeirLog
internal import WeirClient
internal import NIOCore

extension KafkaBroker {
    /// Fetch: reads whole batches from each partition (at most `partitionMaxBytes` each, at
    /// most `maxBytes` in all, at least one batch), up to the last stable offset for
    /// `read_committed` (isolation level 1, with the aborted transactions in range). When fewer
    /// than `minBytes` are there, waits on the partitions' high-water marks for up to
    /// `maxWaitMs` (long polling) and reads again.
    func fetch(_ req: FetchRequest, _ ctx: RequestContext) async -> FetchResponse {
        let readCommitted = req.isolationLevel == 1
        let maxWait = min(max(req.maxWaitMs, 0), config.maxFetchWaitMs)
        var pass = _fetchOnce(req, ctx, readCommitted: readCommitted)
        if pass.bytes < Int(req.minBytes), maxWait > 0, !pass.waitTargets.isEmpty {
            await PartitionLog.waitForAnyHighWatermark(pass.waitTargets, timeout: .milliseconds(Int64(maxWait)))
            pass = _fetchOnce(req, ctx, readCommitted: readCommitted)
        }
        // Only the pass that is sent holds records (file slices own descriptors).
        let zeroCopy = ctx.zeroCopy && config.zeroCopyFetch
        for (t, p, result) in pass.reads {
            pass.response.responses[t].partitions[p].records = records(result, zeroCopy: zeroCopy)
        }
        return pass.response
    }

    struct _FetchPass {
        var response = FetchResponse()
        var bytes = 0
        var waitTargets: [(log: PartitionLog, above: Int64)] = []
        /// (topic index, partition index, read) of every partition with batches to send.
        var reads: [(Int, Int, LogReadResult)] = []
    }

    func _fetchOnce(_ req: FetchRequest, _ ctx: RequestContext, readCommitted: Bool) -> _FetchPass {
        var pass = _FetchPass()
        pass.response.sessionId = 0
        var budget = Int(req.maxBytes <= 0 ? Int32.max : req.maxBytes)
        let responses: [FetchResponse.FetchableTopicResponse] = eachPartition(req.topics, check: (ctx, .read)) { p, log, pd, place in
            do throws(LogError) {
                let maxBytes = min(Int(p.partitionMaxBytes), budget)
                let lso = log.lastStableOffset
                let result = try log.read(from: p.fetchOffset, maxBytes: max(maxBytes, 1),
                                          maxOffset: readCommitted ? lso : nil)
                pd.highWatermark = result.highWatermark
                pd.lastStableOffset = result.lastStableOffset
                pd.logStartOffset = result.logStartOffset
                if readCommitted, !result.batches.isEmpty {
                    pd.abortedTransactions = log.abortedTransactions(from: p.fetchOffset, upTo: result.nextOffset).map { a in
                        var at = FetchResponse.FetchableTopicResponse.PartitionData.AbortedTransaction()
                        at.producerId = a.producerId
                        at.firstOffset = a.firstOffset
                        return at
                    }
                }
                if !result.batches.isEmpty && (maxBytes > 0 || pass.bytes == 0) {
                    pass.reads.append((place.topic, place.partition, result))
                    pass.bytes += result.byteCount
                    budget -= result.byteCount
                }
                if result.batches.isEmpty {
                    pass.waitTargets.append((log, p.fetchOffset))
                }
            } catch {
                pd.errorCode = KafkaErrorCode(error).rawValue
                pd.highWatermark = log.highWatermark
                pd.logStartOffset = log.logStartOffset
            }
        }
        pass.response.responses = responses
        // Fields the walk does not set: the topic id, and no aborted-transaction list at all
        // (rather than an empty one) for read_uncommitted.
        for (i, t) in req.topics.enumerated() {
            pass.response.responses[i].topicId = t.topicId
            if !readCommitted {
                for j in pass.response.responses[i].partitions.indices { pass.response.responses[i].partitions[j].abortedTransactions = nil }
            }
        }
        return pass
    }

    /// The batches of a read, copied into one buffer, or as file slices when zero-copy is on.
    func records(_ result: LogReadResult, zeroCopy: Bool) -> KafkaRecords {
        if zeroCopy, let slices = Self.fileSlices(result) { return KafkaRecords(slices: slices) }
        var buf = KafkaWriter.allocator.buffer(capacity: result.byteCount)
        for b in result.batches {
            _ = b.withUnsafeBytes { buf.writeBytes($0) }
        }
        return KafkaRecords(bytes: buf)
    }
}
