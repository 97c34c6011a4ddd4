import Foundation
import Testing
import WeirClient
import WeirPatterns
import WeirFormat

@Suite struct EncryptionTests {
    let keyring = EncryptionKeyring.generate(keyId: "k1")
    var cipher: MessageCipher { MessageCipher(keyring: keyring) }

    func sealed(_ value: String = "secret payload", headers: [RecordHeader] = [RecordHeader(key: "tenant", value: Array("acme".utf8))]) throws -> ConsumerRecord {
        let p = try cipher.encrypt(ProducerRecord(topic: "t", key: "k", value: value, headers: headers))
        return ConsumerRecord(topic: "t", partition: 0, offset: 7, timestamp: 0, key: p.key, value: p.value, headers: p.headers)
    }

    func expectFailure(_ code: EncryptionError.Code, _ record: ConsumerRecord, topic: String? = nil, with c: MessageCipher? = nil) {
        do {
            _ = try (c ?? cipher).decrypt(record, topic: topic)
            Issue.record("decryption of a tampered record succeeded")
        } catch {
            #expect(error.code == code)
            #expect(!error.isRetriable)
            #expect((error as any ClassifiedError).isRetriable == false)
        }
    }

    @Test func roundTripThroughTheEmbeddedLog() async throws {
        let f = try EmbeddedFixture()
        defer { f.remove() }
        try await f.client.ensureTopic("users.profile.updated", partitions: 1, configs: [:])
        let producer = EncryptingProducer(try await f.client.makeProducer(properties: [:]), keyring: keyring)
        _ = try await producer.send(ProducerRecord(topic: "users.profile.updated", key: "u1", value: "hello", headers: [RecordHeader(key: "h", value: [1])]))
        _ = try await producer.send(ProducerRecord(topic: "users.profile.updated", key: "u1", value: "hello"))
        await producer.close()
        let records = try await f.readAll("users.profile.updated", expecting: 2)
        #expect(records.count == 2)
        #expect(records[0].value != Array("hello".utf8))
        #expect(records[0].value!.count == 5 + 12 + 16)
        // A fresh random nonce per message: the same plaintext encrypts differently.
        #expect(records[0].value!.prefix(12) != records[1].value!.prefix(12))
        #expect(records[0].value != records[1].value)
        let plain = try cipher.decrypt(records[0])
        #expect(plain.valueString == "hello")
        #expect(plain.headers == [RecordHeader(key: "h", value: [1])])
        #expect(records[0].headers.contains { $0.key == "enc.key-id" && $0.value == Array("k1".utf8) })
    }

    @Test func tamperingIsRejected() throws {
        let r = try sealed()
        var t = r
        t.value![14] ^= 0x01 // ciphertext
        expectFailure(.authenticationFailed, t)
        t = r
        t.value![t.value!.count - 1] ^= 0x80 // tag
        expectFailure(.authenticationFailed, t)
        t = r
        t.value![0] ^= 0x01 // nonce
        expectFailure(.authenticationFailed, t)
        t = r
        t.headers[0].value = Array("evil".utf8) // bound header value
        expectFailure(.authenticationFailed, t)
        t = r
        t.headers.remove(at: 0) // bound header removed
        expectFailure(.authenticationFailed, t)
        t = r
        t.key = Array("other".utf8) // record key
        expectFailure(.authenticationFailed, t)
        expectFailure(.authenticationFailed, r, topic: "another.topic") // replayed elsewhere
        t = r
        t.value = Array(t.value!.prefix(20)) // truncated
        expectFailure(.malformed, t)
        t = r
        t.headers.removeAll { $0.key == "enc.key-id" }
        expectFailure(.notEncrypted, t)
        t = r
        t.headers.removeAll { $0.key == "enc.headers" }
        t.headers.append(RecordHeader(key: "enc.headers", value: [])) // unbind the tenant header
        expectFailure(.authenticationFailed, t)
        t = r
        t.headers.removeAll { $0.key == "enc.alg" }
        t.headers.append(RecordHeader(key: "enc.alg", value: Array("AES-128-CBC".utf8)))
        expectFailure(.unsupportedAlgorithm, t)
    }

    @Test func keyIdIsBoundAndUnknownIdsFail() throws {
        let rotated = try keyring.rotated(to: "k2")
        let r = try sealed()
        var t = r
        t.headers.removeAll { $0.key == "enc.key-id" }
        t.headers.append(RecordHeader(key: "enc.key-id", value: Array("k2".utf8))) // another valid key
        expectFailure(.authenticationFailed, t, with: MessageCipher(keyring: rotated))
        t.headers.removeAll { $0.key == "enc.key-id" }
        t.headers.append(RecordHeader(key: "enc.key-id", value: Array("nope".utf8)))
        expectFailure(.unknownKey, t)
    }

    @Test func headersAddedAfterEncryptionDoNotBreakIt() throws {
        var r = try sealed()
        r.headers.append(RecordHeader(key: "error.message", value: Array("moved to the DLQ".utf8)))
        r.headers.append(RecordHeader(key: "tenant", value: Array("second".utf8))) // a later duplicate name
        let plain = try cipher.decrypt(r)
        #expect(plain.valueString == "secret payload")
        // Moved to a DLQ: decrypt for the source topic.
        r.topic = "t.dlq"
        expectFailure(.authenticationFailed, r)
        #expect(try cipher.decrypt(r, topic: "t").valueString == "secret payload")
    }

    @Test func rotationKeepsOldKeysReadable() throws {
        let old = try sealed("old")
        let rotated = try keyring.rotated(to: "k2")
        let c2 = MessageCipher(keyring: rotated)
        let p = try c2.encrypt(ProducerRecord(topic: "t", key: "k", value: "new"))
        #expect(p.headers.contains { $0.key == "enc.key-id" && $0.value == Array("k2".utf8) })
        #expect(try c2.decrypt(old).valueString == "old")
        // Salts are random per key: the two derived keys differ even from equal master keys.
        #expect(rotated.entries[0].salt != rotated.entries[1].salt)
        let same = EncryptionKeyring.Entry(id: "k1", masterKey: rotated.entries[0].masterKey, salt: rotated.entries[1].salt, created: "")
        #expect(EncryptionKeyring.deriveKey(same) != EncryptionKeyring.deriveKey(rotated.entries[0]))
        let pruned = try rotated.removing("k1")
        expectFailure(.unknownKey, old, with: MessageCipher(keyring: pruned))
        #expect(throws: EncryptionError.self) { try rotated.removing("k2") }
    }

    @Test func keyringFilesRoundTripAndBadFilesFail() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ring = try keyring.rotated(to: "k2")
        try ring.save(path: dir + "/ring.json")
        let perms = try FileManager.default.attributesOfItem(atPath: dir + "/ring.json")[.posixPermissions] as? Int
        #expect(perms == 0o600)
        let loaded = try EncryptionKeyring.load(path: dir + "/ring.json")
        #expect(loaded.currentKeyId == "k2")
        #expect(loaded.entries == ring.entries)
        #expect(try MessageCipher(keyring: loaded).decrypt(try sealed()).valueString == "secret payload")
        _ = FileManager.default.createFile(atPath: dir + "/bad.json", contents: Data("{}".utf8))
        #expect(keyringError { try EncryptionKeyring.load(path: dir + "/bad.json") })
        #expect(keyringError { try EncryptionKeyring.load(path: dir + "/missing.json") })
        #expect(keyringError { try EncryptionKeyring(currentKeyId: "x", entries: ring.entries) })
        let short = EncryptionKeyring.Entry(id: "s", masterKey: [1, 2, 3], salt: [], created: "")
        #expect(keyringError { try EncryptionKeyring(currentKeyId: "s", entries: [short]) })
    }

    func keyringError(_ body: () throws -> Any) -> Bool {
        do {
            _ = try body()
            return false
        } catch {
            return (error as? EncryptionError)?.code == .keyring
        }
    }

    @Test func tombstonesPassThrough() throws {
        let p = try cipher.encrypt(ProducerRecord(topic: "t", key: Array("k".utf8), value: nil))
        #expect(p.value == nil && p.headers.isEmpty)
    }
}
