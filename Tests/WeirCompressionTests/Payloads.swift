import WeirTestSupport
// Deterministic test payloads (from WeirTestSupport's SplitMix64): incompressible random bytes
// and a compressible JSON-like event stream resembling what producers send.

enum Payloads {
    /// `count` random bytes.
    static func random(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { raw in
            var i = 0
            while i + 8 <= count {
                raw.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < count {
                raw[i] = UInt8(truncatingIfNeeded: rng.next())
                i += 1
            }
        }
        return out
    }

    /// Exactly `count` bytes of newline-separated JSON events (the last one cut short).
    static func json(_ count: Int, seed: UInt64 = 7) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        let types = ["page_view", "add_to_cart", "checkout", "search", "login", "logout", "purchase"]
        let countries = ["DE", "US", "FR", "GB", "JP", "BR", "IN", "NL", "SE", "ES"]
        let agents = [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        ]
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(count + 512)
        var timestamp: UInt64 = 1_700_000_000_000
        var sequence = 0
        while out.count < count {
            timestamp += rng.next() % 50
            sequence += 1
            var id = [UInt8](repeating: 0, count: 16)
            for i in 0..<16 { id[i] = hex[Int(rng.next() % 16)] }
            let type = types[Int(rng.next() % UInt64(types.count))]
            let user = rng.next() % 100_000
            let product = rng.next() % 5_000
            let cents = rng.next() % 100_000
            let country = countries[Int(rng.next() % UInt64(countries.count))]
            let agent = agents[Int(rng.next() % UInt64(agents.count))]
            out.append(contentsOf: #"{"event_id":""#.utf8)
            out.append(contentsOf: id)
            let rest = """
                ","seq":\(sequence),"type":"\(type)","ts":\(timestamp),\
                "user":{"id":\(user),"country":"\(country)","premium":\(user % 7 == 0)},\
                "page":"/products/\(product)","amount":\(cents / 100).\(cents % 100),\
                "tags":["t\(product % 13)","t\(user % 17)"],"ua":"\(agent)"}

                """
            out.append(contentsOf: rest.utf8)
        }
        out.removeLast(out.count - count)
        return out
    }

    static let random1MiB = random(1 << 20)
    static let json4MiB = json(4 << 20)
    static let json100KiB = json(100 << 10, seed: 11)
}
