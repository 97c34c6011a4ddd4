extension LogDirectory {
    /// `.topics/<topic>.creating`: written before a topic's first partition folder and removed
    /// after its properties file, so that a crash in between is recognised on the next open.
    static func _creatingMarker(_ path: String, _ topic: String) -> String {
        path + "/" + topicsFolder + "/" + topic + ".creating"
    }

    /// Removes what a `createTopic` interrupted by a crash left behind: the partition folders
    /// made so far (no record was ever appended to them: the topic becomes visible only when the
    /// create returns), a partial properties file and the marker. A marker next to a properties
    /// file means the create finished; only the marker goes. Before, the next open adopted the
    /// folders as a topic with fewer partitions and the default config.
    static func _removeHalfMadeTopics(_ path: String, _ messages: inout [String]) {
        let folder = path + "/" + topicsFolder
        let names = (try? _Sys.listDirectory(folder)) ?? []
        for name in names where name.hasSuffix(".creating") {
            let topic = String(name.dropLast(".creating".count))
            let properties = folder + "/" + topic + ".properties"
            if !_Sys.exists(properties) {
                var removed: [String] = []
                for entry in (try? _Sys.listDirectory(path)) ?? [] where entry.hasPrefix(topic + "-") {
                    let suffix = entry.dropFirst(topic.utf8.count + 1)
                    guard !suffix.isEmpty, suffix.allSatisfy({ $0.isASCII && $0.isNumber }),
                          _Sys.isDirectory(path + "/" + entry) else { continue }
                    _removeTree(path + "/" + entry)
                    removed.append(entry)
                }
                try? _Sys.unlink(properties + ".tmp")
                messages.append("removed the half-made topic '\(topic)' (a crash interrupted its creation before any record was written): \(removed.isEmpty ? "no partition folders" : removed.sorted().joined(separator: ", "))")
            }
            try? _Sys.unlink(folder + "/" + name)
            try? _Sys.syncDirectory(path)
        }
    }

    /// Removes a partition folder and the files in it (best effort, for rollbacks).
    static func _removeTree(_ directory: String) {
        for n in (try? _Sys.listDirectory(directory)) ?? [] { try? _Sys.unlink(directory + "/" + n) }
        try? _Sys.rmdir(directory)
    }
}
