import CZlib
import Foundation
public import Histogram

/// HdrHistogram's portable histogram encoding (V2) and its compressed form, for interval logs
/// (`.hlog`) that HistogramLogAnalyzer, HdrHistogram's `HistogramLogReader` (Java, Python's
/// `hdrh`, Go, Rust) and `weir bench merge` read.
///
/// V2 layout, big-endian: cookie `0x1c849313`, payload length, normalizing index offset (0),
/// significant digits, lowest discernible value, highest trackable value (int64 each), the
/// integer-to-double ratio (float64, 1.0), then the counts array from index 0 to the index of
/// the largest value as ZigZag LEB128 varints, a run of N > 1 zero counts written as −N.
/// Compressed: cookie `0x1c849314`, the zlib stream's length, then the zlib stream (deflate
/// with zlib's header) of the V2 bytes.
public enum HistogramEncoding {
    static let v2Cookie: UInt32 = 0x1c84_9313
    static let v2CompressedCookie: UInt32 = 0x1c84_9314
    /// The layout every Weir latency histogram uses (`makeLatencyHistogram`): unit 1 ns,
    /// 3 significant digits.
    static let significantDigits = 3
    /// 2 × 10^3 rounded up to a power of two is 2048 = 2^11; half of it is 2^10.
    static let subBucketHalfCountMagnitude = 10
    static let subBucketHalfCount = 1 << 10
    static let subBucketMask: UInt64 = (1 << 11) - 1
    static let leadingZeroCountBase = 64 - subBucketHalfCountMagnitude - 1

    /// The counts-array index of `value` (HdrHistogram's `countsArrayIndex`, unit 1).
    static func index(of value: UInt64) -> Int {
        let bucket = leadingZeroCountBase - (value | subBucketMask).leadingZeroBitCount
        let sub = Int(value >> UInt64(bucket))
        return ((bucket + 1) << subBucketHalfCountMagnitude) + (sub - subBucketHalfCount)
    }

    /// The lowest value the counts-array `index` holds (HdrHistogram's `valueFromIndex`).
    static func value(at index: Int) -> UInt64 {
        var bucket = (index >> subBucketHalfCountMagnitude) - 1
        var sub = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
        if bucket < 0 {
            sub -= subBucketHalfCount
            bucket = 0
        }
        return UInt64(sub) << UInt64(bucket)
    }

    /// The V2 encoding of `h` (a Weir latency histogram: lowest 1, 3 digits).
    public static func encode(_ h: Histogram<UInt64>) -> [UInt8] {
        var counts: [(index: Int, count: UInt64)] = []
        for iv in h.recordedValues() where iv.count > 0 {
            counts.append((index(of: iv.value), UInt64(iv.count)))
        }
        var payload: [UInt8] = []
        var next = 0
        for (i, c) in counts {
            let zeros = i - next
            if zeros == 1 { putZigZag(0, &payload) } else if zeros > 1 { putZigZag(-Int64(zeros), &payload) }
            putZigZag(Int64(clamping: c), &payload)
            next = i + 1
        }
        let highest = max(60_000_000_000, h.max)
        var out: [UInt8] = []
        out.reserveCapacity(40 + payload.count)
        putBE(UInt64(v2Cookie), 4, &out)
        putBE(UInt64(payload.count), 4, &out)
        putBE(0, 4, &out)
        putBE(UInt64(significantDigits), 4, &out)
        putBE(1, 8, &out)
        putBE(highest, 8, &out)
        putBE((1.0 as Double).bitPattern, 8, &out)
        out += payload
        return out
    }

    /// The compressed V2 encoding of `h`, as HdrHistogram's `encodeIntoCompressedByteBuffer`.
    public static func encodeCompressed(_ h: Histogram<UInt64>) -> [UInt8] {
        let plain = encode(h)
        var bound = compressBound(uLong(plain.count))
        var z = [UInt8](repeating: 0, count: Int(bound))
        let rc = z.withUnsafeMutableBufferPointer { dst in
            plain.withUnsafeBufferPointer { src in compress2(dst.baseAddress, &bound, src.baseAddress, uLong(src.count), Z_DEFAULT_COMPRESSION) }
        }
        precondition(rc == Z_OK, "zlib compress2 failed (\(rc)) on a buffer of compressBound size")
        var out: [UInt8] = []
        putBE(UInt64(v2CompressedCookie), 4, &out)
        putBE(UInt64(bound), 4, &out)
        out += z[0..<Int(bound)]
        return out
    }

    /// Decodes a V2 encoding (compressed or not) into a Weir latency histogram. Counts come
    /// back exactly; each value comes back as the highest value equivalent to it (within the
    /// 3 significant digits), as from any HdrHistogram decoder.
    ///
    /// - Throws: `.io` naming what does not check out (cookie, lengths, layout, counts).
    public static func decode(_ bytes: [UInt8]) throws(BenchError) -> Histogram<UInt64> {
        guard bytes.count >= 8 else { throw BenchError(.io, "histogram encoding: \(bytes.count) bytes is too short") }
        let cookie = UInt32(getBE(bytes, 0, 4))
        if cookie == v2CompressedCookie {
            let length = Int(getBE(bytes, 4, 4))
            guard length <= bytes.count - 8 else { throw BenchError(.io, "histogram encoding: compressed length \(length) exceeds the \(bytes.count - 8) bytes present") }
            var size = max(1024, length * 8)
            while true {
                guard size <= 64 << 20 else { throw BenchError(.io, "histogram encoding: inflates to more than 64 MiB") }
                var out = [UInt8](repeating: 0, count: size)
                var outLen = uLong(size)
                let rc = out.withUnsafeMutableBufferPointer { dst in
                    bytes.withUnsafeBufferPointer { src in uncompress(dst.baseAddress, &outLen, src.baseAddress! + 8, uLong(length)) }
                }
                if rc == Z_BUF_ERROR { size *= 4; continue }
                guard rc == Z_OK else { throw BenchError(.io, "histogram encoding: zlib stream does not inflate (\(rc))") }
                return try decode(Array(out[0..<Int(outLen)]))
            }
        }
        guard cookie == v2Cookie, bytes.count >= 40 else {
            throw BenchError(.io, String(format: "histogram encoding: cookie 0x%08x is not HdrHistogram's V2 (0x1c849313 or 0x1c849314)", cookie))
        }
        let payloadLength = Int(getBE(bytes, 4, 4))
        let digits = Int(getBE(bytes, 12, 4))
        let lowest = getBE(bytes, 16, 8)
        guard digits == significantDigits, lowest == 1 else {
            throw BenchError(.io, "histogram encoding: \(digits) significant digits, lowest value \(lowest); Weir reads its own layout (3 digits, lowest 1)")
        }
        guard 40 + payloadLength <= bytes.count else { throw BenchError(.io, "histogram encoding: payload length \(payloadLength) exceeds the bytes present") }
        var h = makeLatencyHistogram()
        var at = 40
        let end = 40 + payloadLength
        var index = 0
        while at < end {
            let v = try getZigZag(bytes, &at, end)
            if v < 0 {
                guard v > -Int64(1 << 40) else { throw BenchError(.io, "histogram encoding: zero run \(v) is out of range") }
                index += Int(-v)
            } else {
                if v > 0 {
                    guard index < 64 << subBucketHalfCountMagnitude else { throw BenchError(.io, "histogram encoding: index \(index) is out of range") }
                    // The encoding keeps counts per bucket, not values: like HdrHistogram's own
                    // decoders, a bucket reads back as its highest equivalent value.
                    h.record(h.highestEquivalentForValue(Self.value(at: index)), count: UInt64(v))
                }
                index += 1
            }
        }
        return h
    }

    static func putBE(_ v: UInt64, _ bytes: Int, _ out: inout [UInt8]) {
        for i in stride(from: bytes - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: v >> (UInt64(i) * 8))) }
    }

    static func getBE(_ b: [UInt8], _ at: Int, _ bytes: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<bytes { v = (v << 8) | UInt64(b[at + i]) }
        return v
    }

    /// HdrHistogram's ZigZag LEB128: 7 bits a byte for up to 8 bytes, then a 9th byte of 8 bits.
    static func putZigZag(_ value: Int64, _ out: inout [UInt8]) {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        for _ in 0..<8 {
            if v >> 7 == 0 {
                out.append(UInt8(v))
                return
            }
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(truncatingIfNeeded: v))
    }

    static func getZigZag(_ b: [UInt8], _ at: inout Int, _ end: Int) throws(BenchError) -> Int64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        for n in 0..<9 {
            guard at < end else { throw BenchError(.io, "histogram encoding: a count runs past the payload") }
            let byte = b[at]
            at += 1
            if n == 8 {
                v |= UInt64(byte) << 56
                break
            }
            v |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }
}

/// One interval of one latency kind in an interval log.
public struct IntervalHistogram: Sendable {
    public var kind: LatencyKind
    /// Seconds since the start of measurement (HdrHistogram's `StartTimestamp`, relative to
    /// the log's `StartTime`).
    public var startSeconds: Double
    public var lengthSeconds: Double
    /// The largest value, nanoseconds.
    public var maxNanos: UInt64
    /// The compressed V2 encoding.
    public var encoded: [UInt8]

    public init(kind: LatencyKind, startSeconds: Double, lengthSeconds: Double, histogram: Histogram<UInt64>) {
        self.kind = kind
        self.startSeconds = startSeconds
        self.lengthSeconds = lengthSeconds
        maxNanos = histogram.max
        encoded = HistogramEncoding.encodeCompressed(histogram)
    }

    public func histogram() throws(BenchError) -> Histogram<UInt64> { try HistogramEncoding.decode(encoded) }
}

/// HdrHistogram's interval log (`.hlog`, `HistogramLogWriter`'s format 1.3): comment header
/// lines, a CSV legend, then one line per interval: start (s, relative to `StartTime`),
/// length (s), the interval's max (ms: values are ns, scaled by 10^6) and the base64 of the
/// compressed histogram.
public enum HistogramLog {
    public static let legend = "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""

    /// The log text of `entries` (one latency kind), `startEpoch` the wall-clock time (Unix
    /// seconds) of the start of measurement.
    public static func text(_ entries: [IntervalHistogram], startEpoch: Double, comment: String) -> String {
        var lines = ["#[\(comment)]", "#[Histogram log format version 1.3]"]
        let date = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: startEpoch))
        lines.append(String(format: "#[StartTime: %.3f (seconds since epoch), ", startEpoch) + date + "]")
        lines.append(String(format: "#[BaseTime: %.3f (seconds since epoch)]", startEpoch))
        lines.append(legend)
        for e in entries.sorted(by: { $0.startSeconds < $1.startSeconds }) {
            lines.append(String(format: "%.3f,%.3f,%.3f,", e.startSeconds, e.lengthSeconds, Double(e.maxNanos) / 1e6) + Data(e.encoded).base64EncodedString())
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One parsed line of a log.
    public struct Entry: Sendable {
        public var tag: String?
        public var startSeconds: Double
        public var lengthSeconds: Double
        public var maxMillis: Double
        public var histogram: Histogram<UInt64>
    }

    /// Reads a log (Weir's or another `HistogramLogWriter`'s with Weir's layout): the start
    /// time and the intervals.
    ///
    /// - Throws: `.io` naming the line that does not parse.
    public static func parse(_ text: String) throws(BenchError) -> (startEpoch: Double?, entries: [Entry]) {
        var start: Double?
        var entries: [Entry] = []
        for (n, raw) in text.split(separator: "\n").enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#[StartTime: ") {
                start = Double(line.dropFirst("#[StartTime: ".count).prefix { $0 != " " })
                continue
            }
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("\"StartTimestamp\"") { continue }
            var cols = line.split(separator: ",").map(String.init)
            var tag: String?
            if cols.first?.hasPrefix("Tag=") == true { tag = String(cols.removeFirst().dropFirst(4)) }
            guard cols.count == 4, let s = Double(cols[0]), let l = Double(cols[1]), let m = Double(cols[2]),
                  let data = Data(base64Encoded: cols[3])
            else { throw BenchError(.io, "hlog line \(n + 1) does not parse: '\(line.prefix(80))'") }
            let h: Histogram<UInt64>
            do { h = try HistogramEncoding.decode([UInt8](data)) } catch { throw BenchError(.io, "hlog line \(n + 1): \(error.message)") }
            entries.append(Entry(tag: tag, startSeconds: s, lengthSeconds: l, maxMillis: m, histogram: h))
        }
        return (start, entries)
    }
}
