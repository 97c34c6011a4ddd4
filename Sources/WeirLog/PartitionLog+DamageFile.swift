/// `<partition>/damage-checkpoint`: the holes (`LogHole`) an open found, kept on disk so that
/// damage is reported by every later open and by `weir log verify`, not only by the open that
/// found it. Some evidence does not outlive that open: a compacted topic's gaps between
/// segments are normal, so once the recovery-point checkpoint moved past a lost tail, or a
/// damaged closed segment was cut back, nothing else on disk shows the loss. Kafka has no such
/// file (it has no holes: it deletes what follows a corrupt batch); the format follows its
/// checkpoint files:
///
/// ```
/// 0                         version
/// 1                         number of holes
/// 400 1000 the log ends …   first offset, end offset (exclusive), reason
/// ```
///
/// The file exists only while a partition has holes; moving the log-start offset past every
/// hole (`deleteRecords(before:)`, retention) removes it.
enum _DamageFile {
    static let fileName = "damage-checkpoint"
    static let version = 0

    static func encode(_ holes: [LogHole]) -> [UInt8] {
        var text = "\(version)\n\(holes.count)\n"
        for h in holes {
            let reason = h.reason.map { $0 == "\n" ? " " : $0 }
            text += "\(h.offsets.lowerBound) \(h.offsets.upperBound) \(String(reason))\n"
        }
        return Array(text.utf8)
    }

    /// The holes recorded in `directory`. A malformed file is ignored with a line in `messages`
    /// (the other evidence of damage is still checked on every open).
    static func read(_ directory: String, _ messages: inout [String]) -> [LogHole] {
        let path = directory + "/" + fileName
        guard let bytes = try? _Sys.readSmallFile(path) else { return [] }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        var holes: [LogHole] = []
        if lines.count >= 2, Int(lines[0]) == version, let n = Int(lines[1]), n >= 0, lines.count >= 2 + n {
            for line in lines[2..<(2 + n)] {
                let parts = line.split(separator: " ", maxSplits: 2)
                guard parts.count >= 2, let lower = Int64(parts[0]), let upper = Int64(parts[1]), lower < upper else { holes = []; break }
                holes.append(LogHole(offsets: lower..<upper, reason: parts.count == 3 ? String(parts[2]) : "recorded in \(fileName)"))
            }
            if holes.count == n { return holes }
        }
        messages.append("ignored \(path): it is malformed (delete it; the holes it recorded are reported again only while other evidence of them is on disk)")
        return []
    }

    /// Writes `holes` (or removes the file when there are none).
    static func write(_ directory: String, _ holes: [LogHole]) throws(LogError) {
        let path = directory + "/" + fileName
        if holes.isEmpty {
            if _Sys.exists(path) {
                try _Sys.unlink(path)
                try _Sys.syncDirectory(directory)
            }
            return
        }
        try _Sys.writeFileAtomically(path, encode(holes), directory: directory)
    }

    /// `found` plus each recorded hole that starts outside every found one, by first offset.
    static func merge(_ found: [LogHole], _ recorded: [LogHole]) -> [LogHole] {
        var out = found
        for r in recorded where !out.contains(where: { $0.offsets.contains(r.offsets.lowerBound) }) { out.append(r) }
        return out.sorted { $0.offsets.lowerBound < $1.offsets.lowerBound }
    }
}

extension PartitionLog {
    /// Records the current holes in the partition's damage checkpoint (after they changed).
    func _writeDamageFile() throws(LogError) {
        try _DamageFile.write(directory, _holes.all)
    }

    /// Forgets the holes wholly below the log-start offset (the loss was accepted) and updates
    /// the damage checkpoint. A failure to write it only delays that: the next open applies the
    /// log-start offset to the recorded holes too.
    func _dropHolesBelowLogStart() {
        if _holes.drop(below: logStartOffset) { try? _writeDamageFile() }
    }
}
