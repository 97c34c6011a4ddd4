public import Crypto
public import Foundation

/// The keys of message encryption: master keys by key id, the id new messages are encrypted
/// with (`currentKeyId`), and every id still accepted for decryption (rotation).
///
/// Each entry holds a 256-bit master key and its own random 256-bit salt. The key that
/// AES-256-GCM uses is derived with HKDF-SHA256 (RFC 5869) from the master key, that salt and
/// the info string `weir.message-encryption.v1:<keyId>`, so no two key ids share a derived key
/// even if their master keys were the same, and no salt is fixed in code.
///
/// Rotate by adding a new entry and making it current (`rotated(to:)`); keep the old entries
/// until no record encrypted with them remains in any topic (retention), then remove them.
public struct EncryptionKeyring: Sendable {
    /// One master key.
    public struct Entry: Sendable, Codable, Equatable {
        /// The id written to the `enc.key-id` header of every record encrypted with this key.
        public var id: String
        /// The 32-byte master key (input key material of HKDF).
        public var masterKey: [UInt8]
        /// The 32-byte random HKDF salt, stored with the key id.
        public var salt: [UInt8]
        /// When the entry was created (ISO 8601), for operators.
        public var created: String

        public init(id: String, masterKey: [UInt8], salt: [UInt8], created: String) {
            self.id = id
            self.masterKey = masterKey
            self.salt = salt
            self.created = created
        }

        /// A new entry with a random master key and a random salt.
        public static func generate(id: String) -> Entry {
            Entry(id: id, masterKey: _randomBytes(32), salt: _randomBytes(32), created: ISO8601DateFormatter().string(from: Date()))
        }
    }

    /// The id new messages are encrypted with.
    public let currentKeyId: String
    /// Every entry, by id.
    public let entries: [Entry]
    let _derived: [String: _DerivedKey]

    /// A keyring of `entries` whose `currentKeyId` encrypts.
    ///
    /// - Throws: `.keyring` when the current id is missing, an id is empty or repeated, or a
    ///   master key or salt is not 32 bytes.
    public init(currentKeyId: String, entries: [Entry]) throws(EncryptionError) {
        var derived: [String: _DerivedKey] = [:]
        for e in entries {
            guard !e.id.isEmpty else { throw EncryptionError(.keyring, "a key entry has an empty id; give every key a unique id.") }
            guard derived[e.id] == nil else { throw EncryptionError(.keyring, "key id '\(e.id)' appears twice; key ids must be unique.") }
            guard e.masterKey.count == 32, e.salt.count == 32 else {
                throw EncryptionError(.keyring, "key '\(e.id)': master key and salt must be 32 bytes each (have \(e.masterKey.count) and \(e.salt.count)); generate keys with `weir keys generate`.")
            }
            derived[e.id] = _DerivedKey(Self.deriveKey(e))
        }
        guard derived[currentKeyId] != nil else {
            throw EncryptionError(.keyring, "the current key id '\(currentKeyId)' is not in the keyring (ids: \(entries.map(\.id).joined(separator: ", "))); add it or choose one of these.")
        }
        self.currentKeyId = currentKeyId
        self.entries = entries
        _derived = derived
    }

    /// A keyring with one freshly generated key.
    public static func generate(keyId: String = "k1") -> EncryptionKeyring {
        // Cannot fail: one entry of the right sizes, and it is current.
        try! EncryptionKeyring(currentKeyId: keyId, entries: [.generate(id: keyId)])
    }

    /// This keyring plus a freshly generated key `newKeyId`, which becomes current; the old
    /// keys still decrypt.
    public func rotated(to newKeyId: String) throws(EncryptionError) -> EncryptionKeyring {
        try EncryptionKeyring(currentKeyId: newKeyId, entries: entries + [.generate(id: newKeyId)])
    }

    /// This keyring without `keyId` (records encrypted with it can no longer be read).
    public func removing(_ keyId: String) throws(EncryptionError) -> EncryptionKeyring {
        guard keyId != currentKeyId else {
            throw EncryptionError(.keyring, "cannot remove the current key '\(keyId)'; rotate to a new key first.")
        }
        return try EncryptionKeyring(currentKeyId: currentKeyId, entries: entries.filter { $0.id != keyId })
    }

    /// The derived AES-256 key of `keyId`, nil when the id is unknown.
    func _key(_ keyId: String) -> SymmetricKey? { _derived[keyId]?.key }

    /// HKDF-SHA256(master key, salt, info = `weir.message-encryption.v1:<id>`) → 32 bytes.
    public static func deriveKey(_ entry: Entry) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: entry.masterKey), salt: entry.salt,
                               info: Array("weir.message-encryption.v1:\(entry.id)".utf8), outputByteCount: 32)
    }

    // MARK: - Files

    struct _File: Codable {
        var format: String
        var currentKeyId: String
        var keys: [_FileEntry]
    }

    struct _FileEntry: Codable {
        var id: String
        var masterKey: String
        var salt: String
        var created: String
    }

    /// The keyring as JSON (`format: weir-keyring-1`, keys and salts in base64). It holds secret
    /// keys: store it like a private key.
    public func jsonData() -> Data {
        let file = _File(format: "weir-keyring-1", currentKeyId: currentKeyId, keys: entries.map {
            _FileEntry(id: $0.id, masterKey: Data($0.masterKey).base64EncodedString(), salt: Data($0.salt).base64EncodedString(), created: $0.created)
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(file)) ?? Data()
    }

    /// Parses a keyring written by `jsonData()`.
    public init(jsonData data: Data) throws(EncryptionError) {
        let file: _File
        do { file = try JSONDecoder().decode(_File.self, from: data) } catch {
            throw EncryptionError(.keyring, "not a keyring file (\(error)); create one with `weir keys generate --out FILE`.")
        }
        guard file.format == "weir-keyring-1" else {
            throw EncryptionError(.keyring, "unknown keyring format '\(file.format)'; this version reads weir-keyring-1.")
        }
        var entries: [Entry] = []
        for k in file.keys {
            guard let m = Data(base64Encoded: k.masterKey), let s = Data(base64Encoded: k.salt) else {
                throw EncryptionError(.keyring, "key '\(k.id)': masterKey and salt must be base64.")
            }
            entries.append(Entry(id: k.id, masterKey: Array(m), salt: Array(s), created: k.created))
        }
        try self.init(currentKeyId: file.currentKeyId, entries: entries)
    }

    /// Reads a keyring file.
    public static func load(path: String) throws(EncryptionError) -> EncryptionKeyring {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EncryptionError(.keyring, "cannot read keyring file '\(path)'; check the path and its permissions.")
        }
        return try EncryptionKeyring(jsonData: data)
    }

    /// Writes the keyring to `path` with permissions 0600 (owner read/write only).
    public func save(path: String) throws(EncryptionError) {
        let url = URL(fileURLWithPath: path)
        do {
            try jsonData().write(to: url, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        } catch {
            throw EncryptionError(.keyring, "cannot write keyring file '\(path)': \(error); check that the directory exists and is writable.")
        }
    }
}

/// Bytes from the system's CSPRNG (`getrandom` on Linux).
func _randomBytes(_ count: Int) -> [UInt8] {
    var g = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }
}

/// A derived key, shared between tasks: `SymmetricKey` is an immutable value (its bytes are never
/// mutated after creation) that swift-crypto does not mark `Sendable`.
final class _DerivedKey: @unchecked Sendable {
    let key: SymmetricKey
    init(_ key: SymmetricKey) { self.key = key }
}
