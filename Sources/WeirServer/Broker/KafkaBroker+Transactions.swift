internal import WeirLog
internal import WeirClient

extension KafkaBroker {
    var transactions: TransactionCoordinatorHandle { TransactionCoordinatorHandle(directory: directory) }

    /// InitProducerId: a fresh producer id for an idempotent producer, or the transactional
    /// id's id with a bumped epoch (fencing older producers) from WeirClient's coordinator.
    func initProducerId(_ req: InitProducerIdRequest) async -> InitProducerIdResponse {
        var resp = InitProducerIdResponse()
        guard let id = req.transactionalId, !id.isEmpty else {
            resp.producerId = transactions.allocateProducerId()
            resp.producerEpoch = 0
            return resp
        }
        do throws(ClientError) {
            let (pid, epoch) = try await transactions.initProducerId(transactionalId: id, transactionTimeoutMs: Int64(req.transactionTimeoutMs))
            resp.producerId = pid
            resp.producerEpoch = epoch
        } catch {
            resp.errorCode = KafkaErrorCode(error).rawValue
        }
        return resp
    }

    func addPartitionsToTxn(_ req: AddPartitionsToTxnRequest, version: Int16) -> AddPartitionsToTxnResponse {
        var resp = AddPartitionsToTxnResponse()
        func add(_ id: String, _ pid: Int64, _ epoch: Int16, _ topics: [AddPartitionsToTxnRequest.AddPartitionsToTxnTopic]) -> [AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult] {
            var code = KafkaErrorCode.none
            var tps: [TopicPartition] = []
            for t in topics { for p in t.partitions { tps.append(TopicPartition(t.name, p)) } }
            for tp in tps where (try? directory.partition(tp)) == nil { code = .unknownTopicOrPartition }
            if code == .none {
                do throws(ClientError) { try transactions.addPartitions(transactionalId: id, producerId: pid, epoch: epoch, tps) } catch {
                    code = KafkaErrorCode(error)
                    if code == .unknownServerError { code = .invalidProducerIdMapping }
                }
            }
            return topics.map { t in
                var r = AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult()
                r.name = t.name
                r.resultsByPartition = t.partitions.map { p in
                    var pr = AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult()
                    pr.partitionIndex = p
                    pr.partitionErrorCode = code.rawValue
                    return pr
                }
                return r
            }
        }
        if version <= 3 {
            resp.resultsByTopicV3AndBelow = add(req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, req.v3AndBelowTopics)
        } else {
            resp.resultsByTransaction = req.transactions.map { t in
                var r = AddPartitionsToTxnResponse.AddPartitionsToTxnResult()
                r.transactionalId = t.transactionalId
                r.topicResults = add(t.transactionalId, t.producerId, t.producerEpoch, t.topics)
                return r
            }
        }
        return resp
    }

    func addOffsetsToTxn(_ req: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse {
        var resp = AddOffsetsToTxnResponse()
        do throws(ClientError) { try transactions.addOffsets(transactionalId: req.transactionalId, producerId: req.producerId, epoch: req.producerEpoch, groupId: req.groupId) } catch {
            resp.errorCode = KafkaErrorCode(error).rawValue
        }
        return resp
    }

    func txnOffsetCommit(_ req: TxnOffsetCommitRequest) async -> TxnOffsetCommitResponse {
        var offsets: [TopicPartition: Int64] = [:]
        for t in req.topics { for p in t.partitions { offsets[TopicPartition(t.name, p.partitionIndex)] = p.committedOffset } }
        var code = KafkaErrorCode.none
        do throws(ClientError) { try await transactions.commitOffsets(producerId: req.producerId, epoch: req.producerEpoch, groupId: req.groupId, offsets) } catch {
            code = KafkaErrorCode(error)
        }
        var resp = TxnOffsetCommitResponse()
        resp.topics = TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic.each(req.topics.map { (name: $0.name, partitions: $0.partitions.map(\.partitionIndex)) }, code)
        return resp
    }

    func endTxn(_ req: EndTxnRequest) async -> EndTxnResponse {
        var resp = EndTxnResponse()
        do throws(ClientError) {
            try await transactions.endTransaction(transactionalId: req.transactionalId, producerId: req.producerId, epoch: req.producerEpoch, commit: req.committed)
        } catch {
            resp.errorCode = KafkaErrorCode(error).rawValue
        }
        return resp
    }
}
