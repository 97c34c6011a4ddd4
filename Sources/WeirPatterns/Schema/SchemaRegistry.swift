import Foundation
public import WeirClient
public import WeirFormat

/// A message that cannot be decoded at the current schema. Never retriable: the same bytes
/// fail the same way, so the retry/DLQ pipeline routes it to the dead-letter topic at once.
public struct SchemaError: ClassifiedError, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. Stable; match on it, not on the message.
    public enum Code: String, Sendable {
        /// The record has no `event.type` or `schema.version` header (or an unreadable one).
        case missingEnvelope
        /// No schema is registered for the record's type.
        case unknownType
        /// The record's version is newer than the registered current version (a producer
        /// deployed before this consumer): upgrade the consumer, then replay from the DLQ.
        case newerVersion
        /// The record's version is older, but an upcaster in the chain to the current version
        /// is missing.
        case missingUpcaster
        /// The payload is not valid JSON, an upcaster threw, or the upcast JSON does not decode
        /// into the current type.
        case malformedPayload
        /// Sending the record to the dead-letter topic failed (retriable when the client says so).
        case deadLetterFailed
    }

    public var code: Code
    /// What happened and what to do.
    public var message: String
    public var type: String?
    public var version: Int?
    let _retriable: Bool

    public init(_ code: Code, _ message: String, type: String? = nil, version: Int? = nil, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.type = type
        self.version = version
        _retriable = isRetriable
    }

    /// False for every decoding failure; only a failed DLQ send may be retriable.
    public var isRetriable: Bool { _retriable }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// A versioned envelope: the event type and its schema version travel as headers
/// (`event.type`, `schema.version`), the payload is JSON in the record value.
public struct SchemaEnvelope: Sendable, Hashable {
    /// The `event.type` header (the same header the event store writes).
    public static let typeHeader = "event.type"
    /// The `schema.version` header (a decimal integer ≥ 1).
    public static let versionHeader = "schema.version"

    public var type: String
    public var version: Int
    public var payload: [UInt8]

    public init(type: String, version: Int, payload: [UInt8]) {
        self.type = type
        self.version = version
        self.payload = payload
    }

    /// The envelope of a consumed record.
    public init(_ record: ConsumerRecord) throws(SchemaError) {
        try self.init(headers: record.headers, value: record.value, at: "\(record.topic)-\(record.partition)@\(record.offset)")
    }

    init(headers: [RecordHeader], value: [UInt8]?, at place: String) throws(SchemaError) {
        func header(_ name: String) -> String? { headers.last { $0.key == name }?.value.map { String(decoding: $0, as: UTF8.self) } }
        guard let type = header(Self.typeHeader), let v = header(Self.versionHeader), let version = Int(v), version >= 1 else {
            throw SchemaError(.missingEnvelope, "\(place) has no valid \(Self.typeHeader)/\(Self.versionHeader) headers; produce it with SchemaRegistry.envelope(...) or send it to the DLQ.")
        }
        self.init(type: type, version: version, payload: value ?? [])
    }

    /// The two envelope headers.
    public var headers: [RecordHeader] {
        [RecordHeader(key: Self.typeHeader, value: Array(type.utf8)), RecordHeader(key: Self.versionHeader, value: Array(String(version).utf8))]
    }
}

/// The schemas a consumer understands: per event type, its current version and the upcasters
/// that lift each older version by one (v1→v2, v2→v3, …), so a record of any older version is
/// upcast along the chain to the current version before it is decoded.
///
/// ```swift
/// var registry = SchemaRegistry()
/// registry.register("OrderPlaced", currentVersion: 3)
/// registry.addUpcaster("OrderPlaced", from: 1) { v in var v = v; v["currency"] = .string("EUR"); return v }
/// registry.addUpcaster("OrderPlaced", from: 2) { v in var v = v; v["amountCents"] = .int(Int64((v["amount"]?.double ?? 0) * 100)); return v }
/// let order = try registry.decode(OrderPlacedV3.self, from: record)
/// ```
public struct SchemaRegistry: Sendable {
    /// Lifts a payload from version `n` to `n + 1`.
    public typealias Upcaster = @Sendable (JSONValue) throws -> JSONValue

    struct _Schema: Sendable {
        var current: Int
        var upcasters: [Int: Upcaster] = [:]
    }

    var _schemas: [String: _Schema] = [:]

    public init() {}

    /// Registers `type` with its current version (≥ 1).
    public mutating func register(_ type: String, currentVersion: Int) {
        precondition(currentVersion >= 1, "schema versions start at 1")
        _schemas[type, default: _Schema(current: currentVersion)].current = currentVersion
    }

    /// Adds the upcaster from version `from` to `from + 1` of `type`.
    public mutating func addUpcaster(_ type: String, from: Int, _ upcaster: @escaping Upcaster) {
        _schemas[type, default: _Schema(current: from + 1)].upcasters[from] = upcaster
    }

    /// The current version of `type`, nil when it is not registered.
    public func currentVersion(of type: String) -> Int? { _schemas[type]?.current }

    /// An envelope of `value` as JSON at the current version of `type`.
    public func envelope<T: Encodable>(_ type: String, _ value: T) throws(SchemaError) -> SchemaEnvelope {
        guard let s = _schemas[type] else {
            throw SchemaError(.unknownType, "type '\(type)' is not registered; register it before producing.", type: type)
        }
        do { return SchemaEnvelope(type: type, version: s.current, payload: Array(try JSONEncoder().encode(value))) } catch {
            throw SchemaError(.malformedPayload, "cannot encode '\(type)' as JSON: \(error).", type: type, version: s.current)
        }
    }

    /// The envelope's payload lifted to the current version of its type.
    ///
    /// - Throws: `.unknownType`, `.newerVersion`, `.missingUpcaster` or `.malformedPayload`.
    public func upcast(_ envelope: SchemaEnvelope) throws(SchemaError) -> JSONValue {
        let type = envelope.type, version = envelope.version
        guard let s = _schemas[type] else {
            throw SchemaError(.unknownType, "type '\(type)' (v\(version)) is not registered in this consumer; register it or route the record to the DLQ.", type: type, version: version)
        }
        guard version <= s.current else {
            throw SchemaError(.newerVersion, "'\(type)' v\(version) is newer than this consumer's v\(s.current); deploy a consumer that knows v\(version), then replay the DLQ.", type: type, version: version)
        }
        for v in version..<s.current where s.upcasters[v] == nil {
            throw SchemaError(.missingUpcaster, "no upcaster from '\(type)' v\(v) to v\(v + 1); add one with addUpcaster(\"\(type)\", from: \(v)).", type: type, version: version)
        }
        var value: JSONValue
        do { value = try JSONValue.parse(envelope.payload) } catch {
            throw SchemaError(.malformedPayload, "'\(type)' v\(version): the payload is not JSON (\(error)).", type: type, version: version)
        }
        for v in version..<s.current {
            do { value = try s.upcasters[v]!(value) } catch {
                throw SchemaError(.malformedPayload, "upcasting '\(type)' from v\(v) to v\(v + 1) failed: \(error).", type: type, version: version)
            }
        }
        return value
    }

    /// Decodes `T` (the current version's type) from an envelope, upcasting first.
    public func decode<T: Decodable>(_ t: T.Type = T.self, from envelope: SchemaEnvelope) throws(SchemaError) -> T {
        let value = try upcast(envelope)
        do {
            let bytes = try value.serialized()
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw SchemaError(.malformedPayload, "'\(envelope.type)' v\(envelope.version) upcast to v\(currentVersion(of: envelope.type) ?? 0) does not decode as \(T.self): \(error).", type: envelope.type, version: envelope.version)
        }
    }

    /// Decodes `T` from a consumed record's envelope.
    public func decode<T: Decodable>(_ t: T.Type = T.self, from record: ConsumerRecord) throws(SchemaError) -> T {
        try decode(T.self, from: SchemaEnvelope(record))
    }
}
