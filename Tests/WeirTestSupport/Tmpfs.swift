import Foundation

/// Mounts a tmpfs of `size` (`mount -o size=2m`) on a fresh temporary directory for `body`,
/// then unmounts and removes it; false (nothing run) when not root or the mount fails. For the
/// full-disk tests.
public func withTmpfs(_ size: String, _ body: (String) async throws -> Void) async throws -> Bool {
    let path = makeTemporaryDirectory("weir-tmpfs")
    defer { removeTemporaryDirectory(path) }
    func run(_ tool: String, _ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
    guard geteuid() == 0, run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path]) == 0 else { return false }
    defer { _ = run("/bin/umount", [path]) }
    try await body(path)
    return true
}
