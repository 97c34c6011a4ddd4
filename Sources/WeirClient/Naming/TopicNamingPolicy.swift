/// A topic naming convention, checked when a topic is created (`Admin.topicNamingPolicy`,
/// `weir topics create --naming-convention`).
///
/// The default is the reference convention `<domain>.<entity>.<event-type>`
/// (`order.payment.completed`), with the suffixes of the retry/DLQ pipeline: `.dlq`
/// (`order.payment.completed.dlq`) and `.retry.<n>` (`order.payment.completed.retry.1`).
/// Each segment is lowercase: a letter, then letters, digits or `-`. Internal topics (`__…`)
/// are exempt.
///
/// ```swift
/// try TopicNamingPolicy.domainEntityEvent.validate("order.payment.completed")   // ok
/// try TopicNamingPolicy.domainEntityEvent.validate("Orders")                    // throws .invalidTopic
/// ```
public struct TopicNamingPolicy: Sendable, Hashable {
    /// The names of the segments, in order (`domain`, `entity`, `event-type`).
    public var segments: [String]
    /// Whether `<name>.dlq` is accepted.
    public var allowsDLQSuffix: Bool
    /// Whether `<name>.retry.<n>` (n ≥ 1) is accepted.
    public var allowsRetrySuffix: Bool
    /// A name that follows the policy, shown in errors.
    public var example: String

    public init(segments: [String], allowsDLQSuffix: Bool = true, allowsRetrySuffix: Bool = true, example: String) {
        self.segments = segments
        self.allowsDLQSuffix = allowsDLQSuffix
        self.allowsRetrySuffix = allowsRetrySuffix
        self.example = example
    }

    /// `<domain>.<entity>.<event-type>` (+ `.dlq`, + `.retry.<n>`).
    public static let domainEntityEvent = TopicNamingPolicy(
        segments: ["domain", "entity", "event-type"], example: "order.payment.completed")

    /// The rule as text: `<domain>.<entity>.<event-type>[.dlq|.retry.<n>]`.
    public var rule: String {
        var suffixes: [String] = []
        if allowsDLQSuffix { suffixes.append(".dlq") }
        if allowsRetrySuffix { suffixes.append(".retry.<n>") }
        let base = segments.map { "<\($0)>" }.joined(separator: ".")
        return suffixes.isEmpty ? base : base + "[" + suffixes.joined(separator: "|") + "]"
    }

    /// Whether `name` follows the policy.
    public func accepts(_ name: String) -> Bool { _problem(name) == nil }

    /// Throws `.invalidTopic` naming the rule, what is wrong and a valid example.
    public func validate(_ name: String) throws(ClientError) {
        guard let problem = _problem(name) else { return }
        throw ClientError(.invalidTopic, "topic '\(name)' breaks the naming convention \(rule): \(problem); a valid name is e.g. '\(example)'\(allowsDLQSuffix ? " or '\(example).dlq'" : "").")
    }

    func _problem(_ name: String) -> String? {
        if name.hasPrefix("__") { return nil }
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if allowsDLQSuffix, parts.count == segments.count + 1, parts.last == "dlq" {
            parts.removeLast()
        } else if allowsRetrySuffix, parts.count == segments.count + 2, parts[parts.count - 2] == "retry" {
            guard let n = Int(parts.last!), n >= 1, String(n) == parts.last! else {
                return "the retry suffix must be .retry.<n> with n a positive integer, not '.retry.\(parts.last!)'"
            }
            parts.removeLast(2)
        }
        guard parts.count == segments.count else {
            return "it has \(parts.count) dot-separated segment\(parts.count == 1 ? "" : "s"), the convention has \(segments.count)"
        }
        for (part, label) in zip(parts, segments) {
            guard let first = part.unicodeScalars.first else { return "the \(label) segment is empty" }
            guard ("a"..."z").contains(first),
                  part.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
                return "the \(label) segment '\(part)' must be lowercase letters, digits and '-', starting with a letter"
            }
        }
        return nil
    }
}
