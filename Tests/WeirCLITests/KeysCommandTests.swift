import Foundation
import Testing
import WeirCLI

@Suite struct KeysCommandTests {
    @Test func generateRotateList() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-keys-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/ring.json"
        #expect(await WeirCommand.run(arguments: ["keys", "generate", "--out", file, "--id", "2026-01"]) == 0)
        #expect(await WeirCommand.run(arguments: ["keys", "generate", "--out", file]) == 2) // exists
        #expect(await WeirCommand.run(arguments: ["keys", "rotate", "--file", file, "--id", "2026-02"]) == 0)
        #expect(await WeirCommand.run(arguments: ["keys", "rotate", "--file", file, "--id", "2026-02"]) == 2) // duplicate id
        #expect(await WeirCommand.run(arguments: ["keys", "list", "--file", file, "--json"]) == 0)
        #expect(await WeirCommand.run(arguments: ["keys", "list", "--file", dir + "/missing.json"]) == 1)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.contains("\"currentKeyId\" : \"2026-02\"") && text.contains("weir-keyring-1"))
    }
}
