import Foundation
import WeirCompression

/// The values a run sends: a pool of templates prepared before the run, stored back to back,
/// picked round-robin by each producer thread (no allocation or generation on the hot path).
public final class PayloadPool: Sendable {
    let bytes: [UInt8]
    let offsets: [Int]
    let lengths: [Int]
    /// Mean template size in bytes.
    public let meanSize: Double

    public var count: Int { offsets.count }

    init(templates: [[UInt8]]) {
        var b: [UInt8] = []
        var o: [Int] = []
        var l: [Int] = []
        for t in templates {
            o.append(b.count)
            l.append(t.count)
            b.append(contentsOf: t)
        }
        bytes = b
        offsets = o
        lengths = l
        meanSize = templates.isEmpty ? 0 : Double(b.count) / Double(templates.count)
    }

    /// Calls `body` with template `i % count` (pass `i` already in range on hot paths).
    @inline(__always)
    func withTemplate<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let j = i < offsets.count ? i : i % offsets.count
        return bytes.withUnsafeBytes { raw in body(UnsafeRawBufferPointer(rebasing: raw[offsets[j]..<(offsets[j] + lengths[j])])) }
    }

    /// Builds the pool a workload describes.
    ///
    /// - Throws: `.usage` when a payload file cannot be read or is empty.
    public static func make(for w: Workload, seed: UInt64 = 0x5745_4952) throws(BenchError) -> PayloadPool {
        if !w.payloadFile.isEmpty {
            var templates: [[UInt8]] = []
            for path in w.payloadFile {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw .usage("payloadFile: cannot read '\(path)'; give readable file(s).")
                }
                if w.payloadLines {
                    for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty { templates.append(padded(Array(line))) }
                } else {
                    templates.append(padded([UInt8](data)))
                }
            }
            guard !templates.isEmpty else { throw .usage("payloadFile: '\(w.payloadFile.joined(separator: ","))' holds no payload.") }
            return PayloadPool(templates: templates)
        }
        var gen = PayloadGenerator(seed: seed)
        let variable = w.messageSizeMax > w.messageSize
        let poolSize = variable ? 1024 : 64
        var sizes: [Int] = []
        for _ in 0..<poolSize {
            sizes.append(variable ? w.messageSize + gen.next(below: w.messageSizeMax - w.messageSize + 1) : w.messageSize)
        }
        let total = sizes.reduce(0, +)
        let stream: [UInt8]
        switch w.payload {
        case .random: stream = gen.randomBytes(total)
        case .zeros: stream = [UInt8](repeating: 0, count: total)
        case .json: stream = gen.jsonLike(total)
        case .text: stream = textStream(total, ratio: w.compressionRatio, gen: &gen)
        }
        var templates: [[UInt8]] = []
        var at = 0
        for s in sizes {
            templates.append(Array(stream[at..<(at + s)]))
            at += s
        }
        return PayloadPool(templates: templates)
    }

    static func padded(_ b: [UInt8]) -> [UInt8] {
        b.count >= BenchStamp.size ? b : b + [UInt8](repeating: 0, count: BenchStamp.size - b.count)
    }

    /// JSON-like text with a fraction of bytes replaced by random ones, the fraction chosen
    /// by bisection so that lz4 compresses a 64 KiB sample by about `ratio`.
    static func textStream(_ count: Int, ratio: Double, gen: inout PayloadGenerator) -> [UInt8] {
        let sample = 1 << 16
        var base = gen.jsonLike(max(count, sample))
        let noise = gen.randomBytes(base.count)
        func mixed(_ q: Double, _ n: Int) -> [UInt8] {
            var out = Array(base[0..<n])
            let threshold = UInt64(q * Double(UInt64.max))
            var g = PayloadGenerator(seed: 99)
            for i in 0..<n where g.next() < threshold { out[i] = noise[i] }
            return out
        }
        func measured(_ bytes: [UInt8]) -> Double {
            guard let c = try? Compressor(codec: .lz4, level: nil) else { return 1 }
            var out: [UInt8] = []
            var ok = true
            bytes.withUnsafeBytes { raw in
                do throws(CompressionError) { try c.compress(raw, appendingTo: &out) } catch { ok = false }
            }
            return ok && !out.isEmpty ? Double(bytes.count) / Double(out.count) : 1
        }
        var lo = 0.0, hi = 1.0
        for _ in 0..<14 {
            let mid = (lo + hi) / 2
            if measured(mixed(mid, sample)) > ratio { lo = mid } else { hi = mid }
        }
        base = mixed(lo, base.count)
        return Array(base[0..<count])
    }
}

/// The keys a run sends: none, sequential over `keyCount`, uniform, or zipfian.
final class KeySource: Sendable {
    let keys: [[UInt8]]
    let distribution: Workload.KeyDistribution
    /// Zipfian cumulative distribution over key ranks.
    let cdf: [Double]

    init(_ w: Workload) {
        distribution = w.keyDistributor
        if w.keyDistributor == .none {
            keys = []
            cdf = []
            return
        }
        keys = (0..<w.keyCount).map { Array("key-\($0)".utf8) }
        if w.keyDistributor == .zipfian {
            var c = [Double](repeating: 0, count: w.keyCount)
            var sum = 0.0
            for i in 0..<w.keyCount {
                sum += 1 / pow(Double(i + 1), w.zipfExponent)
                c[i] = sum
            }
            cdf = c.map { $0 / sum }
        } else {
            cdf = []
        }
    }

    /// The key index for message `sequence` using `random` bits, or nil for no key.
    @inline(__always)
    func index(sequence: Int, random: UInt64) -> Int? {
        switch distribution {
        case .none: return nil
        case .sequential: return sequence % keys.count
        case .uniform: return Int(random % UInt64(keys.count))
        case .zipfian:
            let u = Double(random >> 11) / Double(1 << 53)
            var lo = 0, hi = cdf.count - 1
            while lo < hi {
                let mid = (lo + hi) >> 1
                if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
    }
}
