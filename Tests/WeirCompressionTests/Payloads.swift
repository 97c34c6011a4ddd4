import WeirTestSupport

// The codec tests' payloads, from Weir's one payload generator (WeirRandom's
// `PayloadGenerator`): incompressible random bytes and a compressible JSON-like event stream.
enum Payloads {
    /// `count` random bytes.
    static func random(_ count: Int, seed: UInt64 = 1) -> [UInt8] { PayloadGenerator.randomBytes(count, seed: seed) }

    /// Exactly `count` bytes of newline-separated JSON events (the last one cut short).
    static func json(_ count: Int, seed: UInt64 = 7) -> [UInt8] { PayloadGenerator.jsonLike(count, seed: seed) }

    static let random1MiB = random(1 << 20)
    static let json4MiB = json(4 << 20)
    static let json100KiB = json(100 << 10, seed: 11)
}
