internal import WeirLog
internal import WeirClient
internal import NIOCore

extension KafkaBroker {
    /// Produce: each partition's batches are appended as they came (RecordBatch v2 is the
    /// segment format), with the log's own idempotence and epoch checks; with `acks=-1` the
    /// response waits, once every partition is appended, for each one's group commit to disk.
    func produce(_ req: ProduceRequest, _ ctx: RequestContext) async -> ProduceResponse {
        let acks: Acks = req.acks == -1 ? .all : (req.acks == 0 ? .none : .leader)
        typealias PartitionResult = ProduceResponse.TopicProduceResponse.PartitionProduceResponse
        func failed(_ pr: inout PartitionResult, _ error: LogError) {
            pr.errorCode = KafkaErrorCode(error).rawValue
            pr.errorMessage = error.message
            pr.baseOffset = -1
            pr.logStartOffset = -1
        }
        // acks=all: every partition is appended first, then each waits for its group commit.
        var durable: [(place: (topic: Int, partition: Int), log: PartitionLog, end: Int64)] = []
        var resp = ProduceResponse()
        resp.responses = eachPartition(req.topicData, check: (ctx, .write), autoCreate: true) { p, log, pr, place in
            let bytes: ByteBuffer
            if case .bytes(let b)? = p.records?.storage { bytes = b } else { bytes = ByteBuffer() }
            let appended = bytes.withUnsafeReadableBytes { raw in
                Result { () throws(LogError) -> AppendResult in try log.append(raw) }
            }
            switch appended {
            case .success(let r):
                if acks == .all, !r.isDuplicate { durable.append((place, log, r.lastOffset + 1)) }
                pr.baseOffset = r.baseOffset
                pr.logStartOffset = r.logStartOffset
            case .failure(let error):
                failed(&pr, error)
            }
        }
        for (place, log, end) in durable {
            do throws(LogError) { try await log.waitUntilDurable(end) } catch {
                failed(&resp.responses[place.topic].partitionResponses[place.partition], error)
            }
        }
        return resp
    }
}
