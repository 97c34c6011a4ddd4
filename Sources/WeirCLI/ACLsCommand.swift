public import ArgumentParser
import WeirClient
import WeirLog

/// `--user NAME`: the SASL user a command acts as (ACL principal `User:NAME`).
struct UserOption: ParsableArguments {
    @Option(name: .customLong("user"), help: "Act as SASL user NAME (ACL principal User:NAME; default User:ANONYMOUS).")
    var name: String?

    var principal: KafkaPrincipal { KafkaPrincipal(saslUsername: name) }
}

/// `weir acls`: the access-control lists of a log directory (kafka-acls.sh).
public struct ACLsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "acls",
        abstract: "Add, list and remove ACLs of a log directory (like kafka-acls.sh).",
        discussion: """
            ACLs live in <log-dir>/acls.json. Once a directory has any ACL (or super user), every \
            producer, consumer and admin call needs an allow: a client's principal is User:<sasl.username> \
            (--config sasl.username=alice), else User:ANONYMOUS; a matching deny wins. This command is the \
            operator's tool: it needs access to the directory's files, not an ACL.
            """,
        subcommands: [Add.self, List.self, Remove.self, SuperUsers.self]
    )

    public init() {}

    struct Selector: ParsableArguments {
        @Option(name: .customLong("allow-principal"), help: "Principal to allow, e.g. User:alice or User:* (repeatable).")
        var allow: [String] = []
        @Option(name: .customLong("deny-principal"), help: "Principal to deny (repeatable).")
        var deny: [String] = []
        @Option(name: .customLong("operation"), help: "all, read, write, create, delete, alter, describe (repeatable).")
        var operations: [String] = []
        @Option(help: "A topic name (or prefix with --resource-pattern-type prefixed; * for all topics).")
        var topic: String?
        @Option(help: "A consumer group id (or prefix; * for all groups).")
        var group: String?
        @Flag(help: "The cluster resource (create any topic).")
        var cluster = false
        @Option(name: .customLong("resource-pattern-type"), help: "literal (default) or prefixed.")
        var patternType: String?

        func resource() throws -> (ACLResourceType, String)? {
            let chosen = [topic.map { (ACLResourceType.topic, $0) }, group.map { (.group, $0) },
                          cluster ? (.cluster, ACLResourceType.clusterName) : nil].compactMap { $0 }
            guard chosen.count <= 1 else { throw CLIError.usage("give one of --topic, --group, --cluster, not several.") }
            return chosen.first
        }

        func pattern() throws -> ACLPatternType? {
            guard let patternType else { return nil }
            guard let p = ACLPatternType(rawValue: patternType.lowercased()) else {
                throw CLIError.usage("--resource-pattern-type \(patternType) is not valid; allowed values literal, prefixed.")
            }
            return p
        }

        func ops() throws -> [ACLOperation] {
            try operations.map { text throws -> ACLOperation in
                guard let op = ACLOperation(rawValue: text.lowercased()) else {
                    throw CLIError.usage("--operation \(text) is not valid; allowed values \(ACLOperation.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                return op
            }
        }

        func principals() throws -> [(KafkaPrincipal, ACLPermission)] {
            var out: [(KafkaPrincipal, ACLPermission)] = []
            for p in allow { out.append((try ACLsCommand.principal(p), ACLPermission.allow)) }
            for p in deny { out.append((try ACLsCommand.principal(p), ACLPermission.deny)) }
            return out
        }
    }

    static func principal(_ text: String) throws -> KafkaPrincipal {
        guard let p = KafkaPrincipal(parsing: text) else {
            throw CLIError.usage("principal '\(text)' is not Type:name; write it as User:alice (or User:* for everyone).")
        }
        return p
    }

    static func authorizer(_ log: LogDirectory) throws -> ACLAuthorizer {
        do { return try ACLAuthorizer.shared(for: log) } catch { throw CLIError.failure(error.message) }
    }

    static func print(_ bindings: [ACLBinding], json: Bool) {
        for b in bindings {
            if json {
                var j = JSONLine()
                j.add("principal", b.principal.description)
                j.add("permission", b.permission.rawValue)
                j.add("operation", b.operation.rawValue)
                j.add("resourceType", b.resourceType.rawValue)
                j.add("resourceName", b.resourceName)
                j.add("patternType", b.patternType.rawValue)
                Swift.print(j.line)
            } else {
                Swift.print("\(b.resourceType):\(b.resourceName) (\(b.patternType))\t\(b.principal)\t\(b.permission)\t\(b.operation)")
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add ACLs: each principal × each operation on one resource.",
            discussion: "Example: weir acls add --allow-principal User:alice --operation write --topic order. --resource-pattern-type prefixed")
        @OptionGroup var selector: Selector
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func run() async throws {
            let principals = try selector.principals()
            guard !principals.isEmpty else { throw CLIError.usage("give --allow-principal or --deny-principal, e.g. --allow-principal User:alice.") }
            let ops = try selector.ops()
            guard !ops.isEmpty else { throw CLIError.usage("give --operation, e.g. --operation read.") }
            guard let resource = try selector.resource() else {
                throw CLIError.usage("give the resource: --topic NAME, --group NAME or --cluster.")
            }
            let (type, name) = resource
            let pattern = try selector.pattern() ?? .literal
            let bindings = principals.flatMap { (p, perm) in
                ops.map { ACLBinding(principal: p, resourceType: type, resourceName: name, patternType: pattern, operation: $0, permission: perm) }
            }
            for b in bindings {
                do { try b.validate() } catch { throw CLIError.usage(error.message) }
            }
            let log = try TopicsCommand.open(dir.logDir)
            defer { try? log.close() }
            let added: [ACLBinding]
            do { added = try ACLsCommand.authorizer(log).add(bindings) } catch let e as ClientError { throw CLIError.failure(e.message) }
            Swift.print("Added \(added.count) ACL(s)\(added.count < bindings.count ? " (\(bindings.count - added.count) already present)" : "").")
            ACLsCommand.print(added, json: false)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List ACLs (all, or those of a principal or resource).")
        @Option(help: "Only this principal's ACLs (User:alice).")
        var principal: String?
        @Option(help: "Only ACLs that apply to this topic (literal, wildcard and prefixed matches).")
        var topic: String?
        @Option(help: "Only ACLs that apply to this group.")
        var group: String?
        @Flag(help: "One JSON object per line.")
        var json = false
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func run() async throws {
            let who = try principal.map(ACLsCommand.principal)
            let log = try TopicsCommand.open(dir.logDir)
            defer { try? log.close() }
            let bindings = try ACLsCommand.authorizer(log).acls.filter { b in
                (who == nil || b.principal == who!)
                    && (topic == nil || b.matches(resourceType: .topic, name: topic!))
                    && (group == nil || b.matches(resourceType: .group, name: group!))
            }
            ACLsCommand.print(bindings, json: json)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the ACLs that match every option given (a principal, operation, resource, pattern type).",
            discussion: "Exit 1 when nothing matched. Example: weir acls remove --allow-principal User:alice --topic orders")
        @OptionGroup var selector: Selector
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func run() async throws {
            let principals = try selector.principals()
            let ops = try selector.ops()
            let resource = try selector.resource()
            let pattern = try selector.pattern()
            guard !principals.isEmpty || resource != nil else {
                throw CLIError.usage("give a principal (--allow-principal/--deny-principal) or a resource (--topic, --group, --cluster) to select the ACLs to remove.")
            }
            let log = try TopicsCommand.open(dir.logDir)
            defer { try? log.close() }
            let removed: [ACLBinding]
            do {
                removed = try ACLsCommand.authorizer(log).remove { b in
                    (principals.isEmpty || principals.contains { $0.0 == b.principal && $0.1 == b.permission })
                        && (ops.isEmpty || ops.contains(b.operation))
                        && (resource == nil || (b.resourceType == resource!.0 && b.resourceName == resource!.1))
                        && (pattern == nil || b.patternType == pattern!)
                }
            } catch let e as ClientError { throw CLIError.failure(e.message) }
            guard !removed.isEmpty else { throw CLIError.failure("no ACL matched; see them with weir acls list.") }
            Swift.print("Removed \(removed.count) ACL(s).")
            ACLsCommand.print(removed, json: false)
        }
    }

    struct SuperUsers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "super-users",
            abstract: "Show or set the super users (Kafka's super.users): principals every operation is allowed to.")
        @Option(help: "Replace the super users with these principals (repeatable); --set '' clears them.")
        var set: [String] = []
        @OptionGroup var dir: TopicsCommand.LogDirOption

        func run() async throws {
            let principals = try set.filter { !$0.isEmpty }.map(ACLsCommand.principal)
            let log = try TopicsCommand.open(dir.logDir)
            defer { try? log.close() }
            let authorizer = try ACLsCommand.authorizer(log)
            if !set.isEmpty {
                do { try authorizer.setSuperUsers(principals) } catch { throw CLIError.failure(error.message) }
            }
            for p in authorizer.superUsers { Swift.print(p) }
        }
    }
}
