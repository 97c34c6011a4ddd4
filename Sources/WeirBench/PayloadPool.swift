import Foundation
import WeirCompression
import WeirRandom

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

    /// The most memory a payload pool may take: a quarter of the machine's memory.
    public static var memoryLimit: Int { Int(min(ProcessInfo.processInfo.physicalMemory / 4, UInt64(Int.max / 4))) }

    /// Builds the pool a workload describes. Sizes are checked against memory before anything
    /// is allocated.
    ///
    /// - Throws: `.usage` when a payload file cannot be read, is empty or too large, or the
    ///   pool would not fit in memory (naming the fields to lower).
    public static func make(for w: Workload, seed: UInt64 = 0x5745_4952) throws(BenchError) -> PayloadPool {
        if w.useRandomizedPayloads != true, !w.payloadFile.isEmpty {
            return try fromFiles(w)
        }
        var gen = PayloadGenerator(seed: seed)
        let sizes = try templateSizes(w, gen: &gen)
        let total = sizes.reduce(0, +)
        // The stream, the templates cut from it and the pool's copy live at once.
        guard total <= memoryLimit / 3 else {
            throw .usage("the payload pool needs \(total) bytes × 3 (\(sizes.count) payloads up to \(sizes.max() ?? 0) bytes), more than a quarter of this machine's memory; lower messageSize/messageSizeMax or randomizedPayloadPoolSize.")
        }
        if w.useRandomizedPayloads == true {
            // OMB's randomized payloads: randomBytesRatio of each payload random, the rest zeros.
            let ratio = w.randomBytesRatio ?? 0
            var templates: [[UInt8]] = []
            templates.reserveCapacity(sizes.count)
            for s in sizes {
                let random = min(s, Int(Double(s) * ratio))
                templates.append(gen.randomBytes(random) + [UInt8](repeating: 0, count: s - random))
            }
            return PayloadPool(templates: templates)
        }
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

    /// The size of every template: OMB's randomized pool (`randomizedPayloadPoolSize` of
    /// `messageSize`), a weighted `messageSizeDistribution`, uniform sizes up to
    /// `messageSizeMax`, or 64 of `messageSize`.
    static func templateSizes(_ w: Workload, gen: inout PayloadGenerator) throws(BenchError) -> [Int] {
        let count: Int
        if w.useRandomizedPayloads == true {
            count = w.randomizedPayloadPoolSize ?? 1
        } else if w.messageSizeDistribution != nil || w.messageSizeMax > w.messageSize {
            count = 1024
        } else {
            count = 64
        }
        if let d = w.messageSizeDistribution {
            let buckets = try Workload.sizeBuckets(d)
            let sum = buckets.reduce(0) { $0 + $1.weight }
            var sizes: [Int] = []
            sizes.reserveCapacity(count)
            // Each bucket gets its share of the pool (rounded, at least one for a weight > 0),
            // sizes uniform within the bucket.
            for b in buckets where b.weight > 0 {
                let n = max(1, Int((b.weight / sum * Double(count)).rounded()))
                for _ in 0..<n { sizes.append(b.lo + gen.next(below: b.hi - b.lo + 1)) }
            }
            // Interleave deterministically so that consecutive records differ in size.
            for i in stride(from: sizes.count - 1, to: 0, by: -1) { sizes.swapAt(i, gen.next(below: i + 1)) }
            return sizes
        }
        // Checked before any allocation: the ranges bound each factor, not their product.
        guard count <= memoryLimit / max(1, max(w.messageSize, w.messageSizeMax)) else {
            throw .usage("the payload pool (\(count) payloads of up to \(max(w.messageSize, w.messageSizeMax)) bytes) does not fit in a quarter of this machine's memory; lower messageSize or randomizedPayloadPoolSize.")
        }
        let variable = w.messageSizeMax > w.messageSize
        return (0..<count).map { _ in variable ? w.messageSize + gen.next(below: w.messageSizeMax - w.messageSize + 1) : w.messageSize }
    }

    /// One payload per file (OMB's `payloadFile`), or per non-empty line with `payloadLines`.
    static func fromFiles(_ w: Workload) throws(BenchError) -> PayloadPool {
        var templates: [[UInt8]] = []
        var total = 0
        for path in w.payloadFile {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw .usage("payloadFile: cannot read '\(path)'; give readable file(s).")
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            total += size
            guard total <= memoryLimit / 3 else {
                throw .usage("payloadFile: '\(path)' brings the payloads to \(total) bytes, more than this machine's memory allows (\(memoryLimit / 3) bytes); give smaller files.")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .usage("payloadFile: cannot read '\(path)'; give readable file(s).")
            }
            guard !data.isEmpty else {
                throw .usage("payloadFile: '\(path)' is empty; a payload file holds the bytes of one payload (or lines, with payloadLines: true).")
            }
            if w.payloadLines {
                for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty { templates.append(Array(line)) }
            } else {
                templates.append([UInt8](data))
            }
        }
        guard !templates.isEmpty else { throw .usage("payloadFile: '\(w.payloadFile.joined(separator: ","))' holds no payload (no non-empty line).") }
        return PayloadPool(templates: templates)
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
