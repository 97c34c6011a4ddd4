extension LogDirectory {
    /// `.topics/<topic>.creating`: written before a topic's first partition folder and removed
    /// after its properties file, so that a crash in between is recognised on the next open.
    static func _creatingMarker(_ path: String, _ topic: String) -> String {
        path + "/" + topicsFolder + "/" + topic + ".creating"
    }

    /// `.topics/<topic>.deleting`: written before `deleteTopic` removes anything and removed
    /// after its checkpoints, so that a crash in between is recognised on the next open.
    static func _deletingMarker(_ path: String, _ topic: String) -> String {
        path + "/" + topicsFolder + "/" + topic + ".deleting"
    }

    /// The partition folders `<topic>-<n>` of `topic` in `path`.
    static func _partitionFolders(_ path: String, _ topic: String) -> [String] {
        ((try? _Sys.listDirectory(path)) ?? []).filter { entry in
            guard entry.hasPrefix(topic + "-") else { return false }
            let suffix = entry.dropFirst(topic.utf8.count + 1)
            return !suffix.isEmpty && suffix.allSatisfy({ $0.isASCII && $0.isNumber }) && _Sys.isDirectory(path + "/" + entry)
        }.sorted()
    }

    /// Finishes what a `deleteTopic` interrupted by a crash began: its properties file and
    /// every partition folder left go. Before, the next open adopted the folders left as a topic
    /// with the default config, and the offsets the checkpoint still held for them looked like
    /// lost records (a false tail hole).
    static func _finishInterruptedDeletes(_ path: String, _ messages: inout [String]) {
        let folder = path + "/" + topicsFolder
        for name in (try? _Sys.listDirectory(folder)) ?? [] where name.hasSuffix(".deleting") {
            let topic = String(name.dropLast(".deleting".count))
            let removed = _partitionFolders(path, topic)
            for entry in removed { _removeTree(path + "/" + entry) }
            try? _Sys.unlink(folder + "/" + topic + ".properties")
            try? _Sys.unlink(folder + "/" + name)
            try? _Sys.syncDirectory(path)
            messages.append("finished deleting topic '\(topic)' (a crash interrupted its deletion): \(removed.isEmpty ? "no partition folders were left" : "removed " + removed.joined(separator: ", "))")
        }
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
                let removed = _partitionFolders(path, topic)
                for entry in removed { _removeTree(path + "/" + entry) }
                try? _Sys.unlink(properties + ".tmp")
                messages.append("removed the half-made topic '\(topic)' (a crash interrupted its creation before any record was written): \(removed.isEmpty ? "no partition folders" : removed.joined(separator: ", "))")
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
