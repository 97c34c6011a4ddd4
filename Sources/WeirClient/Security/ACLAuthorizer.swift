import Foundation
import Glibc
import Synchronization
public import WeirLog

/// The ACLs of one log directory, stored durably in `<log-dir>/acls.json`, and the authorizer
/// that the embedded producer, consumer and admin consult (Kafka's `StandardAuthorizer`).
///
/// Authorization is off while the directory has no ACL and no super user; once it has any, every
/// operation needs an allow (Kafka's `allow.everyone.if.no.acl.found=false`), a matching deny
/// wins, and the `super.users` may do anything.
///
/// ```swift
/// let acls = ACLAuthorizer.shared(for: log)
/// try acls.add([ACLBinding(principal: KafkaPrincipal(name: "alice"), resourceType: .topic,
///                          resourceName: "order.", patternType: .prefixed, operation: .write)])
/// // a producer with sasl.username=alice may now write to order.*; every other one is denied
/// ```
///
/// One process owns a log directory (its lock file), so this instance is the only writer of the
/// file; `weir acls` opens the directory like every other command.
public final class ACLAuthorizer: Sendable {
    /// The file's name inside the log directory.
    public static let fileName = "acls.json"

    struct _State: Sendable, Codable {
        var superUsers: [KafkaPrincipal] = []
        var acls: [ACLBinding] = []
    }

    struct _Snapshot: Sendable {
        var bindings: [ACLBinding]
        var superUsers: Set<KafkaPrincipal>
    }

    /// The path of `acls.json`.
    public let path: String
    let _state: Mutex<_Snapshot>
    /// Whether any ACL or super user exists: the one atomic load of the fast path.
    let _enabled: Atomic<Bool>
    /// Counts the changes of the ACLs and super users: a client that checked a permission at
    /// generation g checks again once this moved past g (one atomic load per send).
    let _generation = Atomic<UInt64>(0)

    /// Loads `<directory>/acls.json` (no file: no ACLs).
    ///
    /// - Throws: `.invalidConfig` when the file exists but is not valid; fix or remove it.
    public init(directoryPath: String) throws(ClientError) {
        path = directoryPath + "/" + Self.fileName
        var state = _State()
        if FileManager.default.fileExists(atPath: path) {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                state = try JSONDecoder().decode(_State.self, from: data)
            } catch {
                throw ClientError(.invalidConfig, "cannot read the ACL file '\(path)': \(error). Fix the file, or remove it to drop every ACL.")
            }
        }
        _state = Mutex(_Snapshot(bindings: state.acls, superUsers: Set(state.superUsers)))
        _enabled = Atomic(!state.acls.isEmpty || !state.superUsers.isEmpty)
    }

    // MARK: - One authorizer per open directory

    private static let registry = _PerDirectory<ACLAuthorizer>()

    /// The authorizer of `directory` (one per open directory), loaded from its `acls.json`.
    ///
    /// - Throws: `.invalidConfig` when `acls.json` cannot be read.
    public static func shared(for directory: LogDirectory) throws(ClientError) -> ACLAuthorizer {
        try registry.value(for: directory) { () throws(ClientError) in try ACLAuthorizer(directoryPath: directory.path) }
    }

    // MARK: - Reading and changing the ACLs

    /// Whether authorization is on (the directory has an ACL or a super user).
    public var isEnabled: Bool { _enabled.load(ordering: .acquiring) }

    /// Every ACL, sorted by resource.
    public var acls: [ACLBinding] { _state._withLock { $0.bindings }.sorted() }

    /// The principals that may do anything (Kafka's `super.users`), sorted.
    public var superUsers: [KafkaPrincipal] { _state._withLock { $0.superUsers }.sorted() }

    /// Adds ACLs (those already present are kept once) and writes the file.
    /// - Returns: the bindings that were new.
    @discardableResult
    public func add(_ bindings: [ACLBinding]) throws(ClientError) -> [ACLBinding] {
        for b in bindings { try b.validate() }
        return try _update { s in
            var added: [ACLBinding] = []
            for b in bindings where !s.bindings.contains(b) && !added.contains(b) { added.append(b) }
            s.bindings += added
            return added
        }
    }

    /// Removes the ACLs that `filter` selects and writes the file.
    /// - Returns: the removed bindings.
    @discardableResult
    public func remove(where filter: (ACLBinding) -> Bool) throws(ClientError) -> [ACLBinding] {
        try _update { s in
            let removed = s.bindings.filter(filter)
            s.bindings.removeAll(where: filter)
            return removed
        }
    }

    /// Replaces the super users (Kafka's `super.users`) and writes the file.
    public func setSuperUsers(_ principals: [KafkaPrincipal]) throws(ClientError) {
        _ = try _update { s in s.superUsers = Set(principals) }
    }

    func _update<T>(_ body: (inout _Snapshot) -> T) throws(ClientError) -> T {
        try _state._withLock { (s) throws(ClientError) -> T in
            var next = s
            let result = body(&next)
            let file = _State(superUsers: next.superUsers.sorted(), acls: next.bindings.sorted())
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data: Data
            do { data = try encoder.encode(file) } catch {
                throw ClientError(.log, "cannot encode the ACLs: \(error).")
            }
            try Self._writeAtomically(data, to: path)
            s = next
            _enabled.store(!next.bindings.isEmpty || !next.superUsers.isEmpty, ordering: .releasing)
            _generation.add(1, ordering: .releasing)
            return result
        }
    }

    /// Writes `data` atomically and durably (the log's one atomic write), so that a crash
    /// leaves the old file or the new one, never a torn one.
    static func _writeAtomically(_ data: Data, to path: String) throws(ClientError) {
        do { try _writeFileAtomically(path, [UInt8](data)) } catch {
            throw ClientError(.log, "cannot write '\(path)' (\(error.message)); check the log directory's permissions and free space.", isRetriable: true)
        }
    }

    // MARK: - Decisions

    /// Whether `principal` may perform `operation` on the resource (always true while
    /// authorization is off).
    public func isAuthorized(_ principal: KafkaPrincipal, _ operation: ACLOperation,
                             _ resourceType: ACLResourceType, _ resourceName: String) -> Bool {
        guard isEnabled else { return true }
        return _state._withLock { s in
            aclAuthorizes(s.bindings, superUsers: s.superUsers, principal: principal, operation: operation,
                          resourceType: resourceType, resourceName: resourceName)
        }
    }

    /// Throws `.authorizationFailed` unless `principal` may perform `operation` on the resource.
    public func authorize(_ principal: KafkaPrincipal, _ operation: ACLOperation,
                          _ resourceType: ACLResourceType, _ resourceName: String) throws(ClientError) {
        guard !isAuthorized(principal, operation, resourceType, resourceName) else { return }
        throw Self.denied(principal, operation, resourceType, resourceName)
    }

    /// Creating a topic is allowed by `create` on the topic or on the cluster (as in Kafka).
    public func authorizeCreate(_ principal: KafkaPrincipal, topic: String) throws(ClientError) {
        if isAuthorized(principal, .create, .cluster, ACLResourceType.clusterName) { return }
        try authorize(principal, .create, .topic, topic)
    }

    static func denied(_ principal: KafkaPrincipal, _ operation: ACLOperation,
                       _ resourceType: ACLResourceType, _ resourceName: String) -> ClientError {
        let flag = resourceType == .cluster ? "--cluster" : "--\(resourceType) \(resourceName)"
        return ClientError(.authorizationFailed,
            "principal \(principal) is not authorized to \(operation) \(resourceType) '\(resourceName)'; "
            + "grant it with: weir acls add --allow-principal \(principal) --operation \(operation) \(flag)"
            + " (and remove any matching deny ACL: weir acls list).")
    }
}

// MARK: - The checks at the clients' entry points

extension Producer {
    /// Write on `topic`: checked when the producer first looks the topic up, and again whenever
    /// the ACLs changed since (see `_writeRechecked`).
    /// - Returns: the authorizer and its generation before the check.
    func _authorizeWrite(_ topic: String) throws(ClientError) -> (ACLAuthorizer, UInt64) {
        let authorizer = try ACLAuthorizer.shared(for: logDirectory)
        let generation = authorizer._generation.load(ordering: .acquiring)
        if authorizer.isEnabled {
            try authorizer.authorize(KafkaPrincipal(saslUsername: configuration.saslUsername), .write, .topic, topic)
        }
        return (authorizer, generation)
    }

    /// `topic`, after checking write on it again when the ACLs changed since its last check: a
    /// revoked permission fails the next send, a granted one lets it through. A rechecked topic
    /// gets a new box with the new generation; the old one stays reachable from it.
    func _writeRechecked(_ topic: _Topic) throws(ClientError) -> _Topic {
        if topic.acl._generation.load(ordering: .acquiring) == topic.aclGeneration { return topic }
        let name = topic.state.name
        let (acl, generation) = try _authorizeWrite(name)
        return _topics._withLock { all in
            if let current = all[name], current.aclGeneration >= generation { return current }
            let fresh = _Topic(topic.state, acl: acl, aclGeneration: generation, previous: all[name])
            all[name] = fresh
            return fresh
        }
    }
}

extension Consumer {
    /// Read on each topic and, when `groupId` is given, read on the group.
    func _authorizeRead(topics: some Sequence<String>, group: String?) throws(ClientError) {
        let authorizer = try ACLAuthorizer.shared(for: logDirectory)
        guard authorizer.isEnabled else { return }
        let principal = KafkaPrincipal(saslUsername: configuration.saslUsername)
        for topic in topics { try authorizer.authorize(principal, .read, .topic, topic) }
        if let group { try authorizer.authorize(principal, .read, .group, group) }
    }
}

extension Admin {
    /// `operation` on `topic` (`create` is also allowed by `create` on the cluster).
    func _authorize(_ operation: ACLOperation, topic: String) throws(ClientError) {
        let authorizer = try ACLAuthorizer.shared(for: logDirectory)
        guard authorizer.isEnabled else { return }
        if operation == .create {
            try authorizer.authorizeCreate(principal, topic: topic)
        } else {
            try authorizer.authorize(principal, operation, .topic, topic)
        }
    }
}

extension Consumer {
    /// Whether this consumer's principal may read `topic` (a pattern subscription skips the
    /// topics it may not read, as Kafka's does).
    func _mayRead(_ topic: String) -> Bool {
        guard let authorizer = try? ACLAuthorizer.shared(for: logDirectory), authorizer.isEnabled else { return true }
        return authorizer.isAuthorized(KafkaPrincipal(saslUsername: configuration.saslUsername), .read, .topic, topic)
    }
}
