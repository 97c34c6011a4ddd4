import Foundation
import WeirClient
import WeirFormat
import WeirLog

/// `weir example encryption`: AES-256-GCM with key rotation and a tampered record.
let encryptionExample = PatternExample(
    name: "encryption",
    summary: "AES-256-GCM per message (HKDF-derived keys, key id header, bound headers), key rotation, tampering rejected"
) { client, workDirectory, output in
    let topic = "users.profile.updated"
    try await client.ensureTopic(topic, partitions: 1, configs: [:])
    let keyring = EncryptionKeyring.generate(keyId: "2026-01")
    try keyring.save(path: workDirectory + "/keyring.json")
    let base = try await client.makeProducer(properties: ["acks": "all"])
    let old = EncryptingProducer(base, keyring: keyring)
    _ = try await old.send(ProducerRecord(topic: topic, key: "user-1", value: #"{"email":"a@example.com"}"#,
                                          headers: [RecordHeader(key: "tenant", value: Array("acme".utf8))]))
    let rotated = try EncryptionKeyring.load(path: workDirectory + "/keyring.json").rotated(to: "2026-02")
    let new = EncryptingProducer(base, keyring: rotated)
    _ = try await new.send(ProducerRecord(topic: topic, key: "user-2", value: #"{"email":"b@example.com"}"#))

    let consumer = try await client.makeConsumer(properties: ["auto.offset.reset": "earliest"])
    try await consumer.assign([TopicPartition(topic, 0)])
    var records: [ConsumerRecord] = []
    while records.count < 2 { records += try await consumer.poll(timeout: .milliseconds(200)) }
    await consumer.close()
    let cipher = MessageCipher(keyring: rotated)
    for r in records {
        let keyId = r.headers.last { $0.key == MessageCipher.keyIdHeader }?.value.map { String(decoding: $0, as: UTF8.self) } ?? "?"
        let plain = try cipher.decrypt(r).valueString ?? ""
        output("offset \(r.offset): \(r.value?.count ?? 0) bytes under key \(keyId) → \(plain)")
    }
    var tampered = records[0]
    tampered.headers[0].value = Array("evil".utf8)
    do throws(EncryptionError) { _ = try cipher.decrypt(tampered) } catch { output("changed bound header: \(error.code.rawValue)") }
    tampered = records[0]
    tampered.value![20] ^= 1
    do throws(EncryptionError) { _ = try cipher.decrypt(tampered) } catch { output("flipped ciphertext bit: \(error.code.rawValue)") }
    do throws(EncryptionError) { _ = try cipher.decrypt(records[0], topic: "other.topic") } catch { output("replayed into another topic: \(error.code.rawValue)") }
    await base.close()
}
