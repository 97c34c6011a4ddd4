/// The answer to a request whose API or version `weir serve` does not serve: a response of the
/// requested API and version with every top-level field at its default and the top-level
/// `error_code` (where the version has one) set to `UNSUPPORTED_VERSION` (35), so the client
/// gets an error it can act on instead of a dropped connection.
///
/// The layouts of every API in Kafka's JSON definitions (not only the served ones) are generated
/// by `scripts/kafka-protocol-gen.py` into `Generated/UnsupportedVersionLayouts.swift`. Arrays are
/// written empty (Kafka's own per-partition error responses echo the request's partitions; a
/// client that sent an unadvertised version gets no per-partition results instead).
/// ApiVersions keeps Kafka's own fallback (a v0 answer listing the supported ranges).
public enum UnsupportedVersionResponse {
    struct Layout: Sendable {
        /// The flexible versions (request header v2, response header v1), nil for none.
        let flexible: ClosedRange<Int16>?
        let fields: [Field]

        init(_ flexible: ClosedRange<Int16>?, _ fields: [Field]) {
            self.flexible = flexible
            self.fields = fields
        }
    }

    struct Field: Sendable {
        enum Kind: Sendable { case int8, int16, int32, int64, uuid, string, bytes, records, array, structure }
        let kind: Kind
        let versions: ClosedRange<Int16>
        let nullable: ClosedRange<Int16>?
        let tagged: ClosedRange<Int16>?
        let isErrorCode: Bool
        let value: Int64

        init(_ kind: Kind, _ versions: ClosedRange<Int16>, nullable: ClosedRange<Int16>? = nil,
             tagged: ClosedRange<Int16>? = nil, error: Bool = false, value: Int64 = 0) {
            self.kind = kind
            self.versions = versions
            self.nullable = nullable
            self.tagged = tagged
            self.isErrorCode = error
            self.value = value
        }
    }

    /// Whether Kafka's definitions know `apiKey` (otherwise the connection is closed, as Kafka does).
    public static func knows(apiKey: Int16) -> Bool { layouts[apiKey] != nil }

    /// Whether `version` of `apiKey` uses the flexible encoding (false for unknown keys).
    /// A negative version is answered as version 0.
    public static func isFlexible(apiKey: Int16, version: Int16) -> Bool {
        layouts[apiKey]?.flexible?.contains(max(version, 0)) ?? false
    }

    /// The response body for `version` of `apiKey` with `errorCode`, or nil for an unknown key.
    public static func body(apiKey: Int16, version: Int16, errorCode: Int16) -> KafkaWriter? {
        guard let layout = layouts[apiKey] else { return nil }
        let version = max(version, 0)
        let flexible = layout.flexible?.contains(version) ?? false
        var w = KafkaWriter(capacity: 32)
        for f in layout.fields where f.versions.contains(version) && !(f.tagged?.contains(version) ?? false) {
            let nullable = f.nullable?.contains(version) ?? false
            switch f.kind {
            case .int8: w.writeInt8(Int8(truncatingIfNeeded: f.value))
            case .int16: w.writeInt16(f.isErrorCode ? errorCode : Int16(truncatingIfNeeded: f.value))
            case .int32: w.writeInt32(Int32(truncatingIfNeeded: f.value))
            case .int64: w.writeInt64(f.value)
            case .uuid: w.writeUUID(.zero)
            case .string: nullable ? w.writeNullableString(nil, compact: flexible) : w.writeString("", compact: flexible)
            case .bytes, .records: nullable ? w.writeNullableBytes(nil, compact: flexible) : w.writeBytes([], compact: flexible)
            case .array: nullable ? w.writeNullArray(compact: flexible) : w.writeArrayCount(0, compact: flexible)
            case .structure: w.writeInt8(-1)  // every top-level struct field in Kafka's responses is nullable or tagged
            }
        }
        if flexible { w.writeUnsignedVarint(0) }
        return w
    }
}
