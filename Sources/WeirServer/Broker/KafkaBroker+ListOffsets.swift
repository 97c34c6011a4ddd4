internal import WeirLog
internal import WeirClient

extension KafkaBroker {
    /// ListOffsets: -1 latest (the high-water mark, or the last stable offset for
    /// read_committed), -2 earliest (the log-start offset), otherwise the first offset whose
    /// timestamp is at least the one asked for (-1 when none is).
    func listOffsets(_ req: ListOffsetsRequest, version: Int16) -> ListOffsetsResponse {
        var resp = ListOffsetsResponse()
        resp.topics = eachPartition(req.topics) { p, log, pr, _ in
            let offset: Int64
            var ts: Int64 = -1
            switch p.timestamp {
            case -1: offset = req.isolationLevel == 1 ? log.lastStableOffset : log.highWatermark
            case -2: offset = log.logStartOffset
            case -3: offset = log.highWatermark  // max timestamp: approximated by the end
            default:
                if let found = log.offset(forTimestamp: p.timestamp) {
                    offset = found.offset
                    ts = found.timestamp
                } else {
                    offset = -1
                }
            }
            pr.offset = offset
            pr.timestamp = ts
            pr.leaderEpoch = 0
            if version == 0 { pr.oldStyleOffsets = offset >= 0 ? [offset] : [] }
        }
        return resp
    }
}
