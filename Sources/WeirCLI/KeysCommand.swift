public import ArgumentParser
import Foundation
import WeirPatterns

/// `weir keys generate|rotate|list`: keyring files for message encryption (`EncryptingProducer`,
/// `MessageCipher`).
public struct KeysCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create and rotate keyring files for AES-256-GCM message encryption.",
        subcommands: [Generate.self, Rotate.self, List.self])

    public init() {}

    /// `weir keys generate --out FILE [--id ID]`.
    public struct Generate: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Write a new keyring with one random 256-bit master key and a random HKDF salt (file mode 0600).")
        @Option(help: "The keyring file to create.")
        var out: String
        @Option(help: "The key id written to each encrypted record's enc.key-id header.")
        var id: String = "k1"
        @Flag(help: "Overwrite an existing file.")
        var force = false

        public init() {}

        public func run() async throws {
            guard force || !FileManager.default.fileExists(atPath: out) else {
                throw CLIError.usage("'\(out)' exists; use --force to replace it (records encrypted with its keys become unreadable) or `weir keys rotate`.")
            }
            guard !id.isEmpty else { throw CLIError.usage("--id must not be empty.") }
            do { try EncryptionKeyring.generate(keyId: id).save(path: out) } catch { throw CLIError.failure(error.message) }
            print("wrote keyring '\(out)' with key '\(id)' (current)")
        }
    }

    /// `weir keys rotate --file FILE --id NEW_ID`.
    public struct Rotate: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Add a new key to a keyring and make it current; older keys still decrypt.")
        @Option(help: "The keyring file to update.")
        var file: String
        @Option(help: "The id of the new key.")
        var id: String

        public init() {}

        public func run() async throws {
            let ring: EncryptionKeyring
            do { ring = try EncryptionKeyring.load(path: file) } catch { throw CLIError.failure(error.message) }
            guard !ring.entries.contains(where: { $0.id == id }) else { throw CLIError.usage("key id '\(id)' is already in '\(file)'; choose a new id.") }
            guard !id.isEmpty else { throw CLIError.usage("--id must not be empty.") }
            do { try ring.rotated(to: id).save(path: file) } catch { throw CLIError.failure(error.message) }
            print("added key '\(id)' to '\(file)' (current); \(ring.entries.count) older key(s) kept for decryption")
        }
    }

    /// `weir keys list --file FILE [--json]`: ids and dates, never key material.
    public struct List: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(abstract: "List the key ids of a keyring (no key material).")
        @Option(help: "The keyring file.")
        var file: String
        @Flag(help: "One JSON object.")
        var json = false

        public init() {}

        public func run() async throws {
            let ring: EncryptionKeyring
            do { ring = try EncryptionKeyring.load(path: file) } catch { throw CLIError.failure(error.message) }
            if json {
                struct Out: Encodable { var current: String; var keys: [[String: String]] }
                let out = Out(current: ring.currentKeyId, keys: ring.entries.map { ["id": $0.id, "created": $0.created] })
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys]
                print(String(decoding: (try? e.encode(out)) ?? Data(), as: UTF8.self))
            } else {
                for e in ring.entries { print("\(e.id == ring.currentKeyId ? "*" : " ") \(e.id)  \(e.created)") }
            }
        }
    }
}
