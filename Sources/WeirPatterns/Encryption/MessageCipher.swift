import Crypto
import Foundation
public import WeirClient
import WeirFormat

/// AES-256-GCM encryption of record values, with the record's context bound as associated
/// data.
///
/// An encrypted record's value is `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`, with a fresh
/// random 96-bit nonce per message. Three headers are added:
/// - `enc.alg`: `AES-256-GCM`;
/// - `enc.key-id`: the keyring id of the key used (rotation: decryption picks the key by it);
/// - `enc.headers`: the names of the headers present when the record was encrypted, in order
///   (each a 2-byte big-endian length and UTF-8 bytes).
///
/// **What is bound** (authenticated as associated data, in a length-prefixed canonical encoding):
/// the topic, the record key (or its absence), the key id, the algorithm, and every header
/// present at encryption time (name and value, in order). Changing any of them, the
/// ciphertext, the nonce or the tag makes decryption fail with `.authenticationFailed`; so does
/// replaying a record into another topic (decrypt it with `topic:` set to the topic it was
/// encrypted for, e.g. a DLQ's `originalTopic`). Headers added after encryption (tracing, DLQ
/// `errorMessage`, …) are not bound and do not break decryption. Not bound: partition, offset and
/// timestamp, which the log assigns.
///
/// A null value (a tombstone) is sent as is: it has nothing to hide and compaction needs it.
public struct MessageCipher: Sendable {
    /// The keys.
    public let keyring: EncryptionKeyring

    /// The `enc.alg` header.
    public static let algorithmHeader = "enc.alg"
    /// The `enc.key-id` header.
    public static let keyIdHeader = "enc.key-id"
    /// The `enc.headers` header.
    public static let boundHeadersHeader = "enc.headers"
    /// The only algorithm: `AES-256-GCM`.
    public static let algorithm = "AES-256-GCM"

    static let _nonceSize = 12
    static let _tagSize = 16

    public init(keyring: EncryptionKeyring) { self.keyring = keyring }

    /// `record` with its value encrypted under the keyring's current key.
    public func encrypt(_ record: ProducerRecord) throws(EncryptionError) -> ProducerRecord {
        guard let value = record.value else { return record }
        let keyId = keyring.currentKeyId
        guard let key = keyring._key(keyId) else { throw EncryptionError(.unknownKey, "the current key '\(keyId)' is not in the keyring.") }
        let names = record.headers.map(\.key)
        let namesBytes = Self._encodeNames(names)
        let aad = Self._associatedData(topic: record.topic, key: record.key, keyId: keyId, algorithm: Self.algorithm,
                                       bound: record.headers.map { ($0.key, $0.value) })
        let sealed: AES.GCM.SealedBox
        do { sealed = try AES.GCM.seal(value, using: key, nonce: AES.GCM.Nonce(), authenticating: aad) } catch {
            throw EncryptionError(.malformed, "AES-GCM sealing failed: \(error).")
        }
        guard let combined = sealed.combined else { throw EncryptionError(.malformed, "AES-GCM produced no combined form (nonce not 12 bytes).") }
        var out = record
        out.value = Array(combined)
        out.headers.append(RecordHeader(key: Self.algorithmHeader, value: Array(Self.algorithm.utf8)))
        out.headers.append(RecordHeader(key: Self.keyIdHeader, value: Array(keyId.utf8)))
        out.headers.append(RecordHeader(key: Self.boundHeadersHeader, value: namesBytes))
        return out
    }

    /// `record` with its value decrypted and the `enc.*` headers removed.
    ///
    /// - Parameter topic: the topic the record was encrypted for; nil = `record.topic`. Set it
    ///   when the record was moved (a DLQ holds the original topic in `originalTopic`).
    /// - Throws: `.notEncrypted`, `.unsupportedAlgorithm`, `.unknownKey`, `.malformed`, or
    ///   `.authenticationFailed` when anything bound was changed.
    public func decrypt(_ record: ConsumerRecord, topic: String? = nil) throws(EncryptionError) -> ConsumerRecord {
        guard let value = record.value else { return record }
        let where_ = "\(record.topic)-\(record.partition)@\(record.offset)"
        func header(_ name: String) -> [UInt8]? { record.headers.last { $0.key == name }?.value }
        guard let keyIdBytes = header(Self.keyIdHeader) else {
            throw EncryptionError(.notEncrypted, "\(where_) has no \(Self.keyIdHeader) header: it was not encrypted; read it without decrypting or send it to the DLQ.")
        }
        let keyId = String(decoding: keyIdBytes, as: UTF8.self)
        let alg = header(Self.algorithmHeader).map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard alg == Self.algorithm else {
            throw EncryptionError(.unsupportedAlgorithm, "\(where_): algorithm '\(alg)' is not supported (only \(Self.algorithm)).")
        }
        guard let key = keyring._key(keyId) else {
            throw EncryptionError(.unknownKey, "\(where_) was encrypted with key '\(keyId)', which is not in the keyring (ids: \(keyring.entries.map(\.id).joined(separator: ", "))); load the keyring that holds it, or the id was tampered with.")
        }
        guard let namesBytes = header(Self.boundHeadersHeader), let names = Self._decodeNames(namesBytes) else {
            throw EncryptionError(.malformed, "\(where_): the \(Self.boundHeadersHeader) header is missing or malformed.")
        }
        guard value.count >= Self._nonceSize + Self._tagSize else {
            throw EncryptionError(.malformed, "\(where_): the value has \(value.count) bytes, fewer than a nonce and a tag (28); it was truncated.")
        }
        // The k-th occurrence of a name in the list is the k-th header of that name.
        var seen: [String: Int] = [:]
        var bound: [(String, [UInt8]?)] = []
        for name in names {
            let k = seen[name, default: 0]
            seen[name] = k + 1
            let matches = record.headers.filter { $0.key == name }
            guard k < matches.count else {
                throw EncryptionError(.authenticationFailed, "\(where_): bound header '\(name)' was removed; the record was tampered with.")
            }
            bound.append((name, matches[k].value))
        }
        let aad = Self._associatedData(topic: topic ?? record.topic, key: record.key, keyId: keyId, algorithm: alg, bound: bound)
        let plain: Data
        do {
            let box = try AES.GCM.SealedBox(combined: value)
            plain = try AES.GCM.open(box, using: key, authenticating: aad)
        } catch {
            throw EncryptionError(.authenticationFailed, "\(where_): the AES-GCM tag did not verify: the ciphertext, nonce, tag, key id, topic, key or a bound header was changed, or the key is wrong. Do not use the record; send it to the DLQ.")
        }
        var out = record
        out.value = Array(plain)
        let encHeaders: Set<String> = [Self.algorithmHeader, Self.keyIdHeader, Self.boundHeadersHeader]
        out.headers.removeAll { encHeaders.contains($0.key) }
        return out
    }

    /// The canonical associated data: a version tag, then each field as a 4-byte big-endian
    /// length (0xFFFFFFFF for null) and its bytes: topic, key, key id, algorithm, the number of
    /// bound headers, and each header's name and value.
    static func _associatedData(topic: String, key: [UInt8]?, keyId: String, algorithm: String, bound: [(String, [UInt8]?)]) -> [UInt8] {
        var out: [UInt8] = Array("weir.enc.v1".utf8)
        out.reserveCapacity(64 + topic.utf8.count + (key?.count ?? 0) + bound.reduce(0) { $0 + $1.0.utf8.count + ($1.1?.count ?? 0) + 8 })
        func field(_ bytes: [UInt8]?) {
            guard let bytes else {
                out.append(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF])
                return
            }
            let n = UInt32(bytes.count)
            out.append(contentsOf: [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)])
            out.append(contentsOf: bytes)
        }
        field(Array(topic.utf8))
        field(key)
        field(Array(keyId.utf8))
        field(Array(algorithm.utf8))
        let n = UInt32(bound.count)
        out.append(contentsOf: [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)])
        for (name, value) in bound {
            field(Array(name.utf8))
            field(value)
        }
        return out
    }

    /// `enc.headers`: each name as a 2-byte big-endian length and its UTF-8 bytes (no JSON on
    /// the per-message path).
    static func _encodeNames(_ names: [String]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(names.reduce(0) { $0 + 2 + $1.utf8.count })
        for name in names {
            let n = min(name.utf8.count, 0xFFFF)
            out.append(UInt8(n >> 8))
            out.append(UInt8(n & 0xFF))
            out.append(contentsOf: name.utf8.prefix(n))
        }
        return out
    }

    static func _decodeNames(_ bytes: [UInt8]) -> [String]? {
        var names: [String] = []
        var i = 0
        while i < bytes.count {
            guard i + 2 <= bytes.count else { return nil }
            let n = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            i += 2
            guard i + n <= bytes.count else { return nil }
            names.append(String(decoding: bytes[i..<(i + n)], as: UTF8.self))
            i += n
        }
        return names
    }
}

/// A `MessageProducer` that encrypts every record's value (`MessageCipher`) before handing it
/// to the producer it wraps, so it works over the embedded log and over Kafka alike.
public struct EncryptingProducer: MessageProducer {
    /// The producer that sends the encrypted records.
    public let base: any MessageProducer
    public let cipher: MessageCipher

    public init(_ base: any MessageProducer, keyring: EncryptionKeyring) {
        self.base = base
        self.cipher = MessageCipher(keyring: keyring)
    }

    /// Encrypts `record` and sends it.
    ///
    /// - Throws: `ClientError` with code `.encryptionFailed` (not retriable) when encryption
    ///   fails, or the wrapped producer's error.
    public func send(_ record: ProducerRecord) async throws(ClientError) -> RecordMetadata {
        let encrypted: ProducerRecord
        do { encrypted = try cipher.encrypt(record) } catch {
            throw ClientError(.encryptionFailed, error.message)
        }
        return try await base.send(encrypted)
    }

    public func flush() async throws(ClientError) { try await base.flush() }
    public func close() async { await base.close() }
}

extension ClientError.Code {
    /// A record could not be encrypted (WeirPatterns' `EncryptingProducer`).
    public static let encryptionFailed = Self("encryptionFailed")
}
