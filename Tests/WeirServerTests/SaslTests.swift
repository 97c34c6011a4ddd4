import Foundation
import Testing
@testable import WeirServer

@Suite struct SaslTests {
    static func tempDir() -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("weir-sasl-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test func usersPersistAndPlainChecksThePassword() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SaslUserStore(directoryPath: dir)
        try store.add("alice", password: "s3cret")
        let reopened = try SaslUserStore(directoryPath: dir)
        #expect(reopened.names == ["alice"])
        #expect(reopened.checkPassword("alice", "s3cret"))
        #expect(!reopened.checkPassword("alice", "wrong"))
        #expect(!reopened.checkPassword("bob", "s3cret"))
        let text = try String(contentsOfFile: (dir as NSString).appendingPathComponent(SaslUserStore.fileName), encoding: .utf8)
        #expect(!text.contains("s3cret"), "the password itself is never stored")
        #expect(try reopened.remove("alice"))
        #expect(try SaslUserStore(directoryPath: dir).names.isEmpty)
    }

    /// A full SCRAM exchange, the client side computed here as RFC 5802 describes it.
    @Test(arguments: [SaslUserStore.Mechanism.scramSHA256, .scramSHA512])
    func scramExchange(_ m: SaslUserStore.Mechanism) throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SaslUserStore(directoryPath: dir)
        try store.add("alice", password: "pencil")
        for (password, accepted) in [("pencil", true), ("pen", false)] {
            var server = SaslAuthenticator(store: store, mechanism: m)
            let clientFirstBare = "n=alice,r=fyko+d2lbbFgONRv9qkxdawL"
            guard case .challenge(let sf) = try server.step(Array("n,,\(clientFirstBare)".utf8)) else { Issue.record("no challenge"); return }
            let serverFirst = String(decoding: sf, as: UTF8.self)
            let attrs = SaslAuthenticator.attributes(Substring(serverFirst))
            let salt = Array(Data(base64Encoded: attrs["s"]!)!)
            let iterations = Int(attrs["i"]!)!
            let salted = Scram.saltedPassword(m, password: Array(password.utf8), salt: salt, iterations: iterations)
            let clientKey = Scram.hmac(m, key: salted, Array("Client Key".utf8))
            let storedKey = Scram.hash(m, clientKey)
            let withoutProof = "c=biws,r=\(attrs["r"]!)"
            let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
            let signature = Scram.hmac(m, key: storedKey, authMessage)
            let proof = zip(clientKey, signature).map { $0 ^ $1 }
            let final = "\(withoutProof),p=\(Data(proof).base64EncodedString())"
            if accepted {
                guard case .done(let principal, let v) = try server.step(Array(final.utf8)) else { Issue.record("not done"); return }
                #expect(principal.description == "User:alice")
                let serverKey = Scram.hmac(m, key: salted, Array("Server Key".utf8))
                #expect(String(decoding: v, as: UTF8.self) == "v=\(Data(Scram.hmac(m, key: serverKey, authMessage)).base64EncodedString())")
            } else {
                #expect(throws: SaslError.self) { _ = try server.step(Array(final.utf8)) }
            }
        }
    }
}
