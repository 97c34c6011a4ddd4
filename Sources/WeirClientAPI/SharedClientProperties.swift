import WeirLog

/// The properties every client takes, producer and consumer alike (`client.id`,
/// `allow.auto.create.topics`, `sasl.*`): declared once, in `sharedClientSpecs`, for both tables.
protocol _ClientIdentityProperties {
    /// `client.id`.
    var clientId: String { get set }
    /// `allow.auto.create.topics`.
    var allowAutoCreateTopics: Bool { get set }
    /// `sasl.username`.
    var saslUsername: String? { get set }
    /// `sasl.password`.
    var saslPassword: String? { get set }
    /// `sasl.mechanism`.
    var saslMechanism: String { get set }
}

/// The SASL mechanisms Kafka clients name (`sasl.mechanism`).
let saslMechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER"]

extension _ClientIdentityProperties {
    /// The rows of the shared properties in a producer's or a consumer's table.
    static var sharedClientSpecs: [PropertySpec<Self>] {
        [
            .string("client.id", .client, \.clientId, "a name for logs, statistics and group descriptions", aliases: ["clientId"]),
            .bool("allow.auto.create.topics", .client, \.allowAutoCreateTopics,
                  "create an unknown topic on first use (false on the embedded log)", aliases: ["allowAutoTopicCreation"]),
            .optionalString("sasl.username", .client, \.saslUsername, "the principal User:<name> the embedded log's ACLs see"),
            .optionalString("sasl.password", .client, \.saslPassword, "accepted for compatibility; not checked by the embedded log",
                            secret: true),
            .choice("sasl.mechanism", .client, \.saslMechanism, allowed: saslMechanisms,
                    "accepted for compatibility; the embedded log does not authenticate",
                    parse: { saslMechanisms.contains($0.uppercased()) ? $0.uppercased() : nil }, write: { $0 }),
        ]
    }
}
