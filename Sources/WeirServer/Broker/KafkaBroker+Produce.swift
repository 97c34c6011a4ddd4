internal import WeirLog
internal import WeirClient
internal import NIOCore

extension KafkaBroker {
    /// Produce: each partition's batches are appended as they came (RecordBatch v2 is the
    /// segment format), with the log's own idempotence and epoch checks; `acks=-1` waits for
    /// the group commit to disk.
    func produce(_ req: ProduceRequest, _ ctx: RequestContext) async -> ProduceResponse {
        let acks: Acks = req.acks == -1 ? .all : (req.acks == 0 ? .none : .leader)
        var resp = ProduceResponse()
        for t in req.topicData {
            var tr = ProduceResponse.TopicProduceResponse()
            tr.name = t.name
            for p in t.partitionData {
                var pr = ProduceResponse.TopicProduceResponse.PartitionProduceResponse()
                pr.index = p.index
                pr.errorMessage = nil
                guard allowed(ctx, .write, .topic, t.name) else {
                    pr.errorCode = KafkaErrorCode.topicAuthorizationFailed.rawValue
                    pr.baseOffset = -1
                    tr.partitionResponses.append(pr)
                    continue
                }
                switch partition(t.name, p.index, autoCreate: true) {
                case .failure(let code):
                    pr.errorCode = code.rawValue
                case .success(let log):
                    let bytes: ByteBuffer
                    if case .bytes(let b)? = p.records?.storage { bytes = b } else { bytes = ByteBuffer() }
                    do throws(LogError) {
                        let appended = bytes.withUnsafeReadableBytes { raw in
                            Result { () throws(LogError) -> AppendResult in try log.append(raw) }
                        }
                        let r = try appended.get()
                        if acks == .all, !r.isDuplicate { try await log.waitUntilDurable(r.lastOffset + 1) }
                        pr.baseOffset = r.baseOffset
                        pr.logStartOffset = r.logStartOffset
                    } catch {
                        pr.errorCode = KafkaErrorCode(error).rawValue
                        pr.errorMessage = error.message
                        pr.baseOffset = -1
                    }
                }
                tr.partitionResponses.append(pr)
            }
            resp.responses.append(tr)
        }
        return resp
    }
}
