// The access-control model of the embedded log: Kafka's ACL bindings (principal, resource,
// pattern, operation, permission) and the decision rule of Kafka's `StandardAuthorizer`.

/// A principal as Kafka writes it: `User:alice`. The embedded client's principal is
/// `User:<sasl.username>` when the client sets `sasl.username`, else `User:ANONYMOUS`.
public struct KafkaPrincipal: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    /// `User` (the only type the embedded log derives).
    public var type: String
    /// The user name, or `*` for every user of the type (in ACL bindings).
    public var name: String

    public init(type: String = "User", name: String) {
        self.type = type
        self.name = name
    }

    /// `User:ANONYMOUS`: a client without `sasl.username`.
    public static let anonymous = KafkaPrincipal(name: "ANONYMOUS")
    /// `User:*`: every user (only meaningful in an ACL binding).
    public static let wildcard = KafkaPrincipal(name: "*")

    /// Parses `Type:name` (`User:alice`); nil when there is no colon or either side is empty.
    public init?(parsing text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let type = String(text[..<colon]), name = String(text[text.index(after: colon)...])
        guard !type.isEmpty, !name.isEmpty else { return nil }
        self.init(type: type, name: name)
    }

    /// The principal of a client with `sasl.username` set (or not).
    public init(saslUsername: String?) {
        if let user = saslUsername, !user.isEmpty { self.init(name: user) } else { self = .anonymous }
    }

    public var description: String { "\(type):\(name)" }

    public static func < (a: Self, b: Self) -> Bool { a.description < b.description }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let p = KafkaPrincipal(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "principal '\(text)' is not Type:name"))
        }
        self = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// What an ACL protects (Kafka's `ResourceType`).
public enum ACLResourceType: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case topic, group, cluster
    /// The one cluster resource's name, as in Kafka.
    public static let clusterName = "kafka-cluster"
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// How an ACL's resource name matches (Kafka's `PatternType`).
public enum ACLPatternType: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// The whole name; the literal name `*` matches every resource of the type.
    case literal
    /// Every resource whose name starts with the ACL's name.
    case prefixed
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// An operation on a resource (Kafka's `AclOperation`).
public enum ACLOperation: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Every operation.
    case all
    /// Consume from a topic; join a group and commit its offsets.
    case read
    /// Produce to a topic.
    case write
    /// Create a topic (on the topic, or on the cluster for any topic).
    case create
    /// Delete a topic.
    case delete
    /// Change a topic's configs.
    case alter
    /// Describe a topic or group (list its partitions and offsets).
    case describe

    /// Operations an allow of `self` also allows: as in Kafka, read, write, delete and alter
    /// imply describe.
    var implies: Set<ACLOperation> {
        switch self {
        case .all: Set(ACLOperation.allCases)
        case .read, .write, .delete, .alter: [self, .describe]
        case .create, .describe: [self]
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Allow or deny (Kafka's `AclPermissionType`). A matching deny wins over any allow.
public enum ACLPermission: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case allow, deny
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// One ACL: Kafka's `AclBinding` (`kafka-acls.sh --add --allow-principal User:alice
/// --operation Read --topic orders`). The host is not modelled: the embedded log has no network.
public struct ACLBinding: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var principal: KafkaPrincipal
    public var resourceType: ACLResourceType
    /// The topic or group name (a prefix for `.prefixed`; `*` literal for all);
    /// `kafka-cluster` for the cluster.
    public var resourceName: String
    public var patternType: ACLPatternType
    public var operation: ACLOperation
    public var permission: ACLPermission

    public init(principal: KafkaPrincipal, resourceType: ACLResourceType, resourceName: String,
                patternType: ACLPatternType = .literal, operation: ACLOperation, permission: ACLPermission = .allow) {
        self.principal = principal
        self.resourceType = resourceType
        self.resourceName = resourceType == .cluster ? ACLResourceType.clusterName : resourceName
        self.patternType = resourceType == .cluster ? .literal : patternType
        self.operation = operation
        self.permission = permission
    }

    /// Whether this binding concerns `resource` of `type`.
    public func matches(resourceType type: ACLResourceType, name: String) -> Bool {
        guard type == resourceType else { return false }
        switch patternType {
        case .literal: return resourceName == name || resourceName == "*"
        case .prefixed: return name.hasPrefix(resourceName)
        }
    }

    /// Whether this binding concerns `principal` (`User:*` concerns every user).
    public func matches(principal p: KafkaPrincipal) -> Bool {
        principal == p || (principal.name == "*" && principal.type == p.type)
    }

    public var description: String {
        "\(principal) \(permission) \(operation) on \(resourceType):\(resourceName) (\(patternType))"
    }

    public static func < (a: Self, b: Self) -> Bool {
        (a.resourceType, a.resourceName, a.patternType, a.principal, a.operation, a.permission)
            < (b.resourceType, b.resourceName, b.patternType, b.principal, b.operation, b.permission)
    }

    /// Checks the binding before it is stored: a name that is not empty, a topic/group name
    /// that is legal, an operation that applies to the resource type.
    public func validate() throws(ClientError) {
        if resourceName.isEmpty {
            throw ClientError(.invalidConfig, "an ACL needs a resource name; give --topic NAME, --group NAME or --cluster.")
        }
        if resourceType == .group, [.write, .create, .alter].contains(operation) {
            throw ClientError(.invalidConfig, "operation \(operation) does not apply to groups; use read, describe, delete or all.")
        }
        if principal.name.isEmpty || principal.type.isEmpty {
            throw ClientError(.invalidConfig, "principal '\(principal)' is not Type:name; write it as User:alice.")
        }
    }
}

/// The authorizer's decision rule (Kafka's `StandardAuthorizer` with
/// `allow.everyone.if.no.acl.found=false`): a super user may do anything; otherwise a matching
/// deny wins, then a matching allow (or an allow of an operation that implies this one)
/// allows, and without either the operation is denied.
public func aclAuthorizes(_ bindings: [ACLBinding], superUsers: Set<KafkaPrincipal>, principal: KafkaPrincipal,
                          operation: ACLOperation, resourceType: ACLResourceType, resourceName: String) -> Bool {
    if superUsers.contains(principal) { return true }
    var allowed = false
    for b in bindings where b.matches(resourceType: resourceType, name: resourceName) && b.matches(principal: principal) {
        switch b.permission {
        case .deny:
            if b.operation == operation || b.operation == .all { return false }
        case .allow:
            if b.operation.implies.contains(operation) { allowed = true }
        }
    }
    return allowed
}
