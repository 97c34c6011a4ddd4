/// Parses repeated `key=value` flags (`--config`, `--header`): the text before the first `=`
/// is the key, the rest the value (which may contain `=`). A later pair wins over an earlier
/// one with the same key.
///
/// - Throws: a usage error naming the flag and the pair when a pair has no `=` or no key.
func parseKeyValuePairs(_ pairs: [String], flag: String = "--config") throws(CLIError) -> [String: String] {
    var out: [String: String] = [:]
    for pair in pairs {
        guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
            throw .usage("\(flag) '\(pair)' is not key=value; write it as \(flag) segment.bytes=1048576.")
        }
        out[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
    }
    return out
}
