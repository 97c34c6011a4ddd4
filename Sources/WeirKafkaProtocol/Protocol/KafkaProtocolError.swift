/// A request that cannot be decoded: truncated, with a negative or oversized length, or with
/// invalid UTF-8. The server answers it by closing that client's connection, as Kafka does.
public struct KafkaProtocolError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    static func truncated(_ what: String, need: Int, have: Int) -> KafkaProtocolError {
        KafkaProtocolError("truncated request: \(what) needs \(need) bytes but only \(have) remain; the client sent a frame shorter than its fields.")
    }
}

/// A Kafka UUID (topic ids): 16 bytes, big-endian.
public struct KafkaUUID: Sendable, Hashable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The all-zero UUID (Kafka's `Uuid.ZERO_UUID`): "no topic id".
    public static let zero = KafkaUUID(high: 0, low: 0)
}
