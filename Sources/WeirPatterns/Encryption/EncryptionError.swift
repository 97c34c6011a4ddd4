/// A message that could not be encrypted or decrypted. Never retriable: the same bytes fail
/// the same way, so the retry/DLQ pipeline sends the message straight to the dead-letter topic.
public struct EncryptionError: ClassifiedError, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. Stable; match on it, not on the message.
    public enum Code: String, Sendable {
        /// The record carries no `enc.key-id` header: it was not encrypted by Weir.
        case notEncrypted
        /// The record names an algorithm other than AES-256-GCM.
        case unsupportedAlgorithm
        /// The record's key id is not in the keyring (a key removed too early, or a forged id).
        case unknownKey
        /// The value is too short to hold a nonce and a tag, or a header is malformed.
        case malformed
        /// The tag did not verify: the ciphertext, nonce, tag, key id, topic, key or a bound
        /// header was changed, or the wrong key was used.
        case authenticationFailed
        /// A keyring file could not be read, parsed or written, or a keyring is invalid.
        case keyring
    }

    public var code: Code
    /// What happened and what to do.
    public var message: String
    /// Always false: decrypting the same bytes again fails again.
    public var isRetriable: Bool { false }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
