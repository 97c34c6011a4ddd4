import Foundation

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

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
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
