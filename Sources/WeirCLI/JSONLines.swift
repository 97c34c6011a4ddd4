import Foundation
import WeirFormat
import WeirPatterns

/// A minimal, allocation-light JSON object writer with a fixed key order, for `--json` output
/// that tools (and the interop checks) read line by line.
struct JSONLine {
    private(set) var text = "{"
    private var first = true

    private mutating func key(_ k: String) {
        if !first { text += "," }
        first = false
        text += "\"\(k)\":"
    }

    mutating func add(_ k: String, _ v: Int64) { key(k); text += String(v) }
    mutating func add(_ k: String, _ v: Int) { key(k); text += String(v) }
    mutating func add(_ k: String, _ v: UInt32) { key(k); text += String(v) }
    mutating func add(_ k: String, _ v: Bool) { key(k); text += v ? "true" : "false" }
    mutating func add(_ k: String, _ v: String?) {
        key(k)
        if let v { text += JSONLine.quote(v) } else { text += "null" }
    }
    /// Adds already-encoded JSON.
    mutating func addRaw(_ k: String, _ json: String) { key(k); text += json }

    var line: String { text + "}" }

    static func quote(_ s: String) -> String { _jsonString(s) }
}

func base64(_ bytes: UnsafeRawBufferPointer?) -> String? {
    guard let bytes else { return nil }
    return Data(bytes).base64EncodedString()
}

/// Bytes as text for humans: UTF-8 when valid and printable, otherwise hex (`0x…`).
func printable(_ bytes: UnsafeRawBufferPointer?) -> String {
    guard let bytes else { return "null" }
    if let s = String(validating: bytes, as: UTF8.self),
        !s.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" })
    {
        return s
    }
    return "0x" + bytes.map { String(format: "%02x", $0) }.joined()
}

/// Reads JSON-lines records (`-` for standard input); see `weir format encode --help` for the
/// line format. Errors name the file and line.
func readRecordLines(_ input: String) throws -> [Record] {
    let text: String
    if input == "-" {
        text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    } else {
        guard let data = FileManager.default.contents(atPath: input) else {
            throw CLIError.usage("cannot read --input '\(input)'; give a readable JSON-lines file")
        }
        text = String(decoding: data, as: UTF8.self)
    }
    var records: [Record] = []
    var number = 0
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        number += 1
        if line.allSatisfy(\.isWhitespace) { continue }
        records.append(try parseRecordLine(String(line), at: "\(input == "-" ? "stdin" : input):\(number)"))
    }
    return records
}

/// Parses one JSON-lines record: {"timestamp": ms, "key": base64|null, "value": base64|null,
/// "headers": [{"key": "name", "value": base64|null}]}, with "key_text"/"value_text" for UTF-8.
func parseRecordLine(_ line: String, at location: String) throws -> Record {
    guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        throw CLIError.usage("\(location): not a JSON object")
    }
    func bytes(_ field: String) throws -> [UInt8]? {
        if let text = object[field + "_text"] as? String { return Array(text.utf8) }
        guard let raw = object[field], !(raw is NSNull) else { return nil }
        guard let s = raw as? String, let data = Data(base64Encoded: s) else {
            throw CLIError.usage("\(location): \"\(field)\" must be base64 or null (or use \"\(field)_text\")")
        }
        return [UInt8](data)
    }
    let timestamp: Int64
    if let t = object["timestamp"] {
        guard let n = t as? NSNumber else { throw CLIError.usage("\(location): \"timestamp\" must be a number (ms)") }
        // Kafka's range: a non-negative long. A value JSON gives as a double (too large, or with
        // a fraction) must be a whole number that an Int64 holds exactly.
        let d = n.doubleValue
        guard d >= 0, d < 9.223372036854775807e18, d == d.rounded(), Double(n.int64Value) == d else {
            throw CLIError.usage("\(location): \"timestamp\" \(n) is out of range; give whole milliseconds since the epoch in 0...\(Int64.max) (Kafka rejects negative timestamps).")
        }
        timestamp = n.int64Value
    } else {
        timestamp = Int64(Date().timeIntervalSince1970 * 1000)
    }
    var headers: [RecordHeader] = []
    if let list = object["headers"] {
        guard let list = list as? [[String: Any]] else {
            throw CLIError.usage("\(location): \"headers\" must be a list of {\"key\", \"value\"} objects")
        }
        for h in list {
            guard let k = h["key"] as? String else { throw CLIError.usage("\(location): a header needs a string \"key\"") }
            var value: [UInt8]? = nil
            if let t = h["value_text"] as? String {
                value = Array(t.utf8)
            } else if let v = h["value"], !(v is NSNull) {
                guard let s = v as? String, let d = Data(base64Encoded: s) else {
                    throw CLIError.usage("\(location): header \"\(k)\" value must be base64 or null")
                }
                value = [UInt8](d)
            }
            headers.append(RecordHeader(key: k, value: value))
        }
    }
    return Record(timestamp: timestamp, key: try bytes("key"), value: try bytes("value"), headers: headers)
}
