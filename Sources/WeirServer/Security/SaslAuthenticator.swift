internal import Foundation
internal import WeirClient

/// One connection's SASL exchange (PLAIN, or SCRAM's two round trips), ending in a principal.
struct SaslAuthenticator: Sendable {
    let store: SaslUserStore
    let mechanism: SaslUserStore.Mechanism
    /// SCRAM state between the first and the final client message.
    var scram: (user: String, nonce: String, clientFirstBare: String, serverFirst: String)? = nil

    enum Step {
        case challenge([UInt8])
        case done(KafkaPrincipal, [UInt8])
    }

    mutating func step(_ token: [UInt8]) throws(SaslError) -> Step {
        switch mechanism {
        case .plain:
            // authzid NUL authcid NUL password
            let parts = token.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard parts.count == 3, store.checkPassword(parts[1], parts[2]) else {
                throw SaslError("Authentication failed: invalid username or password")
            }
            return .done(KafkaPrincipal(name: parts[1]), [])
        case .scramSHA256, .scramSHA512:
            let text = String(decoding: token, as: UTF8.self)
            if scram == nil { return .challenge(try first(text)) }
            return try final(text)
        }
    }

    static func attributes(_ s: Substring) -> [Character: String] {
        var out: [Character: String] = [:]
        for part in s.split(separator: ",") where part.count >= 2 && part.dropFirst().first == "=" {
            out[part.first!] = String(part.dropFirst(2))
        }
        return out
    }

    mutating func first(_ text: String) throws(SaslError) -> [UInt8] {
        // gs2 header "n,," then client-first-bare "n=user,r=nonce"
        let pieces = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3, pieces[0] == "n" || pieces[0] == "y" else { throw SaslError("malformed SCRAM client-first message") }
        let bare = String(pieces[2])
        let a = Self.attributes(Substring(bare))
        guard let user = a["n"]?.replacingOccurrences(of: "=2C", with: ",").replacingOccurrences(of: "=3D", with: "="), let cnonce = a["r"],
              let cred = store.user(user)?.scram[mechanism.rawValue] else {
            throw SaslError("Authentication failed during authentication due to invalid credentials with SASL mechanism \(mechanism.rawValue)")
        }
        var rnd = [UInt8](repeating: 0, count: 18)
        for i in rnd.indices { rnd[i] = UInt8.random(in: 0...255) }
        let nonce = cnonce + Data(rnd).base64EncodedString()
        let serverFirst = "r=\(nonce),s=\(cred.salt),i=\(cred.iterations)"
        scram = (user, nonce, bare, serverFirst)
        return Array(serverFirst.utf8)
    }

    func final(_ text: String) throws(SaslError) -> Step {
        guard let s = scram, let cred = store.user(s.user)?.scram[mechanism.rawValue],
              let storedKey = Data(base64Encoded: cred.storedKey), let serverKey = Data(base64Encoded: cred.serverKey) else {
            throw SaslError("Authentication failed: the user was removed during the exchange")
        }
        guard let proofRange = text.range(of: ",p=") else { throw SaslError("malformed SCRAM client-final message") }
        let withoutProof = String(text[..<proofRange.lowerBound])
        let a = Self.attributes(Substring(text))
        // RFC 5802: the client echoes the whole nonce. librdkafka 2.0 sends its own nonce once
        // more in front of it; the proof below still binds the exchange to this server's nonce.
        let cnonce = Self.attributes(Substring(s.clientFirstBare))["r"] ?? ""
        guard a["r"] == s.nonce || a["r"] == cnonce + s.nonce else {
            throw SaslError("Authentication failed: the SCRAM nonce of the client-final message is not the server's")
        }
        guard let proof = a["p"].flatMap({ Data(base64Encoded: $0) }) else {
            throw SaslError("Authentication failed: the SCRAM proof is not base64")
        }
        let authMessage = Array("\(s.clientFirstBare),\(s.serverFirst),\(withoutProof)".utf8)
        let clientSignature = Scram.hmac(mechanism, key: Array(storedKey), authMessage)
        guard proof.count == clientSignature.count else { throw SaslError("Authentication failed: bad SCRAM proof length") }
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard Scram.hash(mechanism, clientKey) == Array(storedKey) else {
            throw SaslError("Authentication failed during authentication due to invalid credentials with SASL mechanism \(mechanism.rawValue)")
        }
        let serverSignature = Scram.hmac(mechanism, key: Array(serverKey), authMessage)
        return .done(KafkaPrincipal(name: s.user), Array("v=\(Data(serverSignature).base64EncodedString())".utf8))
    }
}
