import Foundation
import Testing
import WeirBench
import WeirTestSupport
@testable import WeirCLI

@Suite(.serialized) struct DatabasePatternsCommandTests {
    static func tempDir() -> String { makeTemporaryDirectory("weir-dbcli") }

    @Test func examplesRunAndOutboxStatusReadsTheirDatabase() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await WeirCommand.run(arguments: ["example", "outbox", "--log-dir", dir + "/outbox"]) == 0)
        #expect(await WeirCommand.run(arguments: ["example", "idempotent-consumer", "--log-dir", dir + "/idem"]) == 0)
        #expect(await WeirCommand.run(arguments: ["example", "saga", "--log-dir", dir + "/saga"]) == 0)
        let db = dir + "/outbox/example-files/shop.db"
        #expect(FileManager.default.fileExists(atPath: db))
        #expect(await WeirCommand.run(arguments: ["outbox", "status", "--db", db, "--json"]) == 0)
        #expect(await WeirCommand.run(arguments: ["outbox", "status", "--db", db, "--table", "missing"]) == 1)
        #expect(await WeirCommand.run(arguments: ["outbox", "status", "--db", db, "--table", "no such"]) == 2)
        #expect(await WeirCommand.run(arguments: ["outbox", "status", "--db", dir + "/none.db"]) == 1)
    }

    @Test func presetsRunAndReportTheirCounts() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for preset in ["outbox", "idempotent"] { // the saga preset runs the same wrapper seam; its library tests cover it
            #expect(await WeirCommand.run(arguments: ["bench", "run", preset, "--duration", "0.5", "--warmup", "0", "--rate", "100", "--out", dir + "/" + preset]) == 0)
        }
        func details(_ preset: String) throws -> [[String: String]] {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/\(preset)/summary.json"))) as? [String: Any]
            return (json?["steps"] as? [[String: Any]] ?? []).map { $0["backend_details"] as? [String: String] ?? [:] }
        }
        let outbox = try details("outbox")
        #expect(outbox.first?["outbox.lag_at_end"] == "0")
        #expect(outbox.first?["outbox.relay_published"] == outbox.first?["outbox.rows_written"])
        let idem = try details("idempotent")
        #expect(idem.map { $0["idempotent.consumer"] } == ["plain", "idempotent"])
        #expect(idem.last?["idempotent.duplicates_skipped"] == idem.last?["idempotent.redelivered"])
        // A bad option is a usage error.
        #expect(await WeirCommand.run(arguments: ["bench", "run", "saga", "--set", "pattern.compensationRate=2", "--out", dir + "/bad"]) == 2)
    }
}
