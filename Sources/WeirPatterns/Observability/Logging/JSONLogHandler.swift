public import Foundation
#if canImport(Glibc)
import Glibc
#endif
public import Logging
import Synchronization

/// Where `JSONLogHandler` writes its lines: standard error or output, a file (appended), or a
/// closure (tests, a log shipper). Each line is written whole under a lock, so lines from many
/// tasks never interleave.
public struct JSONLogSink: Sendable {
    let _write: @Sendable (String) -> Void

    /// A sink that calls `write` with each line (without its newline).
    public init(_ write: @escaping @Sendable (String) -> Void) { self._write = write }

    static let _fdLock = Mutex<Void>(())

    static func _fd(_ fd: Int32) -> JSONLogSink {
        JSONLogSink { line in
            let bytes = Array((line + "\n").utf8)
            _fdLock.withLock { _ in
                bytes.withUnsafeBytes { raw in
                    var offset = 0
                    while offset < raw.count {
                        let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                        if n < 0 { if errno == EINTR { continue } else { return } }
                        offset += n
                    }
                }
            }
        }
    }

    public static let standardError = _fd(2)
    public static let standardOutput = _fd(1)

    /// Appends lines to the file at `path` (created when missing). The file stays open for the
    /// life of the process.
    public static func file(_ path: String) throws(ObservabilityError) -> JSONLogSink {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ObservabilityError(.io, "cannot open the log file \(path): \(String(cString: strerror(errno))); check the path and permissions.")
        }
        return _fd(fd)
    }
}

/// A swift-log `LogHandler` that writes one JSON object per line: `timestamp` (ISO 8601, UTC,
/// milliseconds), `level`, `label`, `message`, `error` when the event carries one, then the
/// metadata flattened into the same object (nested dictionaries as `outer.inner` keys), then
/// `source`.
///
/// Metadata values given as `.stringConvertible` integers, floating-point numbers or booleans
/// are written as JSON numbers and booleans (`Logger.consumedRecordMetadata` does that for
/// partition, offset and processing time); everything else as strings. A metadata key that
/// collides with a field above is written as `metadata.KEY`.
///
/// ```swift
/// LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
/// ```
public struct JSONLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let sink: JSONLogSink

    public init(label: String, sink: JSONLogSink = .standardError, logLevel: Logger.Level = .info,
                metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.sink = sink
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static let _reserved: Set<String> = ["timestamp", "level", "label", "message", "error", "source"]

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let m = event.metadata { merged.merge(m) { _, new in new } }
        var flat: [(String, String)] = []
        for (k, v) in merged { Self._flatten(Self._reserved.contains(k) ? "metadata." + k : k, v, into: &flat) }
        flat.sort { $0.0 < $1.0 }

        var line = "{\"timestamp\":" + _jsonString(Self.timestamp(Date())) + ",\"level\":" + _jsonString(event.level.rawValue)
        line += ",\"label\":" + _jsonString(label) + ",\"message\":" + _jsonString(event.message.description)
        if let error = event.error { line += ",\"error\":" + _jsonString(String(describing: error)) }
        for (k, v) in flat { line += "," + _jsonString(k) + ":" + v }
        line += ",\"source\":" + _jsonString(event.source) + "}"
        sink._write(line)
    }

    /// Adds `value` under `key` as encoded JSON, flattening dictionaries.
    static func _flatten(_ key: String, _ value: Logger.Metadata.Value, into out: inout [(String, String)]) {
        switch value {
        case .dictionary(let d):
            for (k, v) in d { _flatten(key + "." + k, v, into: &out) }
        default:
            out.append((key, _encode(value)))
        }
    }

    static func _encode(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): return _jsonString(s)
        case .stringConvertible(let c):
            switch c {
            case let b as Bool: return b ? "true" : "false"
            case let i as Int: return String(i)
            case let i as Int64: return String(i)
            case let i as Int32: return String(i)
            case let i as UInt64: return String(i)
            case let d as Double where d.isFinite: return String(d)
            default: return _jsonString(c.description)
            }
        case .array(let a): return "[" + a.map(_encode).joined(separator: ",") + "]"
        case .dictionary(let d):
            return "{" + d.sorted { $0.key < $1.key }.map { _jsonString($0.key) + ":" + _encode($0.value) }.joined(separator: ",") + "}"
        }
    }

    /// `2026-11-27T12:34:56.789Z`.
    public static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var t = time_t(ms / 1000)
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
                      Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec), Int(ms % 1000))
    }
}

/// A JSON string literal for `s` (also what the CLI's JSON lines use).
package func _jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
