internal import Foundation
internal import Crypto
internal import Synchronization

/// The SASL users of `weir serve`, in `sasl-users.json` under the log directory
/// (`weir users add|list|remove`). Passwords are never stored: each user has SCRAM
/// credentials (salt, iterations, StoredKey, ServerKey) for SHA-256 and SHA-512, as Kafka's
/// `AlterUserScramCredentials` keeps them; SASL/PLAIN is checked against the SHA-512 ones.
public final class SaslUserStore: Sendable {
    public static let fileName = "sasl-users.json"

    public enum Mechanism: String, Sendable, CaseIterable, Codable {
        case plain = "PLAIN"
        case scramSHA256 = "SCRAM-SHA-256"
        case scramSHA512 = "SCRAM-SHA-512"
    }

    public struct Credential: Codable, Sendable, Equatable {
        public var salt: String
        public var iterations: Int
        public var storedKey: String
        public var serverKey: String
    }

    public struct User: Codable, Sendable, Equatable {
        public var name: String
        public var scram: [String: Credential]
    }

    public let path: String
    let users: Mutex<[String: User]>

    /// Loads the store of the log directory at `directoryPath` (empty when the file is missing).
    public init(directoryPath: String) throws(SaslError) {
        path = (directoryPath as NSString).appendingPathComponent(Self.fileName)
        var loaded: [String: User] = [:]
        if FileManager.default.fileExists(atPath: path) {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                for u in try JSONDecoder().decode([User].self, from: data) { loaded[u.name] = u }
            } catch {
                throw SaslError("cannot read \(path): \(error.localizedDescription); fix or remove the file, then add users again with weir users add.")
            }
        }
        users = Mutex(loaded)
    }

    public var names: [String] { users.withLock { $0.keys.sorted() } }

    public func user(_ name: String) -> User? { users.withLock { $0[name] } }

    /// Adds or replaces `name` with credentials derived from `password` (4096 iterations, as Kafka's default).
    public func add(_ name: String, password: String, iterations: Int = 4096) throws(SaslError) {
        guard !name.isEmpty, !name.contains(","), !name.contains("=") else {
            throw SaslError("user name '\(name)' must be non-empty and contain no ',' or '='.")
        }
        var u = User(name: name, scram: [:])
        for m in [Mechanism.scramSHA256, .scramSHA512] {
            var salt = [UInt8](repeating: 0, count: 24)
            for i in salt.indices { salt[i] = UInt8.random(in: 0...255) }
            let keys = Scram.keys(mechanism: m, password: Array(password.utf8), salt: salt, iterations: iterations)
            u.scram[m.rawValue] = Credential(salt: Data(salt).base64EncodedString(), iterations: iterations,
                                             storedKey: Data(keys.storedKey).base64EncodedString(),
                                             serverKey: Data(keys.serverKey).base64EncodedString())
        }
        users.withLock { $0[name] = u }
        try save()
    }

    /// Removes `name`; false when there was no such user.
    public func remove(_ name: String) throws(SaslError) -> Bool {
        let removed = users.withLock { $0.removeValue(forKey: name) != nil }
        if removed { try save() }
        return removed
    }

    /// Whether `password` is `name`'s (SASL/PLAIN).
    public func checkPassword(_ name: String, _ password: String) -> Bool {
        guard let c = user(name)?.scram[Mechanism.scramSHA512.rawValue], let salt = Data(base64Encoded: c.salt) else { return false }
        let keys = Scram.keys(mechanism: .scramSHA512, password: Array(password.utf8), salt: Array(salt), iterations: c.iterations)
        return Data(keys.storedKey).base64EncodedString() == c.storedKey
    }

    func save() throws(SaslError) {
        let list = users.withLock { $0.values.sorted { $0.name < $1.name } }
        do {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(list).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SaslError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// A SASL failure (bad credentials, a malformed exchange, an unreadable users file).
public struct SaslError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// SCRAM (RFC 5802) primitives for SHA-256 and SHA-512.
enum Scram {
    static func hmac(_ m: SaslUserStore.Mechanism, key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let k = SymmetricKey(data: key)
        switch m {
        case .scramSHA256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: k))
        default: return Array(HMAC<SHA512>.authenticationCode(for: data, using: k))
        }
    }

    static func hash(_ m: SaslUserStore.Mechanism, _ data: [UInt8]) -> [UInt8] {
        switch m {
        case .scramSHA256: return Array(SHA256.hash(data: data))
        default: return Array(SHA512.hash(data: data))
        }
    }

    /// PBKDF2 with HMAC (SCRAM's `Hi`).
    static func saltedPassword(_ m: SaslUserStore.Mechanism, password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        var u = hmac(m, key: password, salt + [0, 0, 0, 1])
        var result = u
        for _ in 1..<max(iterations, 1) {
            u = hmac(m, key: password, u)
            for i in result.indices { result[i] ^= u[i] }
        }
        return result
    }

    static func keys(mechanism m: SaslUserStore.Mechanism, password: [UInt8], salt: [UInt8], iterations: Int) -> (storedKey: [UInt8], serverKey: [UInt8]) {
        let salted = saltedPassword(m, password: password, salt: salt, iterations: iterations)
        let clientKey = hmac(m, key: salted, Array("Client Key".utf8))
        return (hash(m, clientKey), hmac(m, key: salted, Array("Server Key".utf8)))
    }
}
