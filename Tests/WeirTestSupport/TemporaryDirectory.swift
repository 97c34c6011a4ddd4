import Foundation

/// A fresh, empty directory under the system's temporary directory, named
/// `<prefix>-XXXXXX` (`mkdtemp`). Remove it with `removeTemporaryDirectory` when done.
public func makeTemporaryDirectory(_ prefix: String = "weir-test") -> String {
    var template = Array((NSTemporaryDirectory() + "\(prefix)-XXXXXX").utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed for \(prefix): errno \(errno)")
    return String(cString: made!)
}

/// Removes `path` and everything below it (errors ignored: a test's clean-up).
public func removeTemporaryDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}
