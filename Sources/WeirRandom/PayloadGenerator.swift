/// Deterministic synthetic payloads: Weir's one payload generator, for the bench's payloads and
/// codec comparisons, the package benchmarks and the tests.
///
/// The generator is a SplitMix64 stream, so the same seed gives the same bytes on every
/// machine and every run; results stay comparable across runs.
public struct PayloadGenerator: Sendable {
    private var rng: SplitMix64

    public init(seed: UInt64 = 0x5745_4952) {
        rng = SplitMix64(seed: seed)
    }

    /// The next 64 pseudo-random bits (SplitMix64).
    @inline(__always)
    public mutating func next() -> UInt64 { rng.next() }

    /// A value in `0..<bound`.
    public mutating func next(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// `count` incompressible random bytes from a fresh generator seeded with `seed`.
    public static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var g = PayloadGenerator(seed: seed)
        return g.randomBytes(count)
    }

    /// `count` bytes of `jsonLike` events from a fresh generator seeded with `seed`.
    public static func jsonLike(_ count: Int, seed: UInt64) -> [UInt8] {
        var g = PayloadGenerator(seed: seed)
        return g.jsonLike(count)
    }

    /// `count` incompressible random bytes.
    public mutating func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var word = next()
            for _ in 0..<8 where i < count {
                out[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return out
    }

    /// JSON-like event records (orders, users, timestamps, ids, free text) concatenated up to
    /// exactly `count` bytes: the kind of payload Kafka topics usually carry. Compresses
    /// about 2.6× with snappy, lz4 and zstd -5 (4 MiB, seed 7).
    public mutating func jsonLike(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 512)
        while out.count < count {
            out.append(contentsOf: jsonRecord().utf8)
            out.append(UInt8(ascii: "\n"))
        }
        out.removeLast(out.count - count)
        return out
    }

    /// One JSON-like record of roughly `targetSize` bytes (at least one event's worth).
    public mutating func jsonRecord(targetSize: Int = 0) -> String {
        var s = "{\"eventId\":\"\(hex(next()))\(hex(next() >> 32))\",\"type\":\"\(Self.eventTypes[next(below: Self.eventTypes.count)])\","
        s += "\"aggregateId\":\"order-\(next(below: 1_000_000))\",\"userId\":\"user-\(next(below: 50_000))\","
        s += "\"timestamp\":\"2026-11-\(10 + next(below: 18))T\(10 + next(below: 14)):\(10 + next(below: 50)):\(10 + next(below: 50)).\(100 + next(below: 900))Z\","
        s += "\"amount\":\(next(below: 100_000)).\(next(below: 100)),\"currency\":\"\(Self.currencies[next(below: Self.currencies.count)])\","
        s += "\"region\":\"\(Self.regions[next(below: Self.regions.count)])\",\"items\":["
        let items = 1 + next(below: 3)
        for i in 0..<items {
            if i > 0 { s += "," }
            s += "{\"sku\":\"SKU-\(next(below: 10_000))\",\"qty\":\(1 + next(below: 5)),\"price\":\(next(below: 500)).\(next(below: 100))}"
        }
        s += "],\"note\":\""
        let words = 3 + next(below: 8)
        for w in 0..<words {
            if w > 0 { s += " " }
            s += Self.words[next(below: Self.words.count)]
        }
        s += "\"}"
        while s.utf8.count < targetSize {
            s.removeLast()
            s += ",\"pad\":\"" + Self.words[next(below: Self.words.count)] + "\"}"
        }
        return s
    }

    private func hex(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    static let eventTypes = ["OrderCreated", "OrderPaid", "OrderShipped", "OrderCancelled", "PaymentFailed", "ItemReserved"]
    static let currencies = ["EUR", "USD", "GBP", "JPY", "CHF"]
    static let regions = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1"]
    static let words = [
        "express", "delivery", "gift", "wrap", "priority", "customer", "requested", "call", "before",
        "arrival", "leave", "at", "door", "fragile", "handle", "with", "care", "second", "attempt",
        "backorder", "partial", "refund", "loyalty", "discount", "applied", "warehouse", "north",
    ]
}
