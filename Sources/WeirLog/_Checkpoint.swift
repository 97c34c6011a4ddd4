/// Kafka's offset checkpoint files (`recovery-point-offset-checkpoint`,
/// `log-start-offset-checkpoint`):
///
/// ```
/// 0                    version
/// 2                    number of entries
/// orders 0 1234        topic partition offset
/// orders 1 987
/// ```
enum _Checkpoint {
    static let version = 0

    static func encode(_ offsets: [TopicPartition: Int64]) -> [UInt8] {
        var text = "\(version)\n\(offsets.count)\n"
        for tp in offsets.keys.sorted() { text += "\(tp.topic) \(tp.partition) \(offsets[tp]!)\n" }
        return Array(text.utf8)
    }

    /// Parses a checkpoint; throws `.corruptState` naming the file and line when it is malformed.
    static func decode(_ bytes: [UInt8], path: String) throws(LogError) -> [TopicPartition: Int64] {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingWhitespace }
        func bad(_ why: String) -> LogError {
            LogError(.corruptState, "checkpoint \(path) is malformed: \(why). Delete it to recover every partition from its first segment.")
        }
        guard lines.count >= 2, let v = Int(lines[0]) else { throw bad("no version line") }
        guard v == version else { throw bad("unsupported version \(v)") }
        guard let n = Int(lines[1]), n >= 0 else { throw bad("no entry count") }
        var out: [TopicPartition: Int64] = [:]
        for i in 0..<n {
            guard 2 + i < lines.count else { throw bad("\(n) entries announced, \(i) present") }
            let parts = lines[2 + i].split(separator: " ")
            guard parts.count == 3, let p = Int32(parts[1]), let o = Int64(parts[2]) else { throw bad("line \(3 + i)") }
            out[TopicPartition(String(parts[0]), p)] = o
        }
        return out
    }
}
