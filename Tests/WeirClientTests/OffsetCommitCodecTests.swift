import Testing
@testable import WeirClient

/// The one codec of `__consumer_offsets` records (Kafka's `OffsetCommitKey` v0/v1 and
/// `OffsetCommitValue` v1/v3), shared by the offsets store and `sendOffsetsToTransaction`.
@Suite struct OffsetCommitCodecTests {
    static func be(_ v: Int64, _ n: Int) -> [UInt8] { (0..<n).reversed().map { UInt8(truncatingIfNeeded: v >> (Int64($0) * 8)) } }
    static func str(_ s: String) -> [UInt8] { be(Int64(s.utf8.count), 2) + Array(s.utf8) }

    @Test func keyAndValueRoundTrip() {
        let key = InternalTopics.offsetCommitKey(group: "billing", topic: "orders.créées", partition: 11)
        #expect(key == Self.be(1, 2) + Self.str("billing") + Self.str("orders.créées") + Self.be(11, 4))
        let k = InternalTopics.parseOffsetCommitKey(key)
        #expect(k?.group == "billing" && k?.topic == "orders.créées" && k?.partition == 11)

        let committed = OffsetAndMetadata(offset: 1 << 40, metadata: "worker-3", commitTimestamp: 1_764_000_000_123, leaderEpoch: 7)
        let value = InternalTopics.offsetCommitValue(committed)
        #expect(value == Self.be(3, 2) + Self.be(1 << 40, 8) + Self.be(7, 4) + Self.str("worker-3") + Self.be(1_764_000_000_123, 8))
        #expect(InternalTopics.parseOffsetCommitValue(value) == committed)
        // The zero-copy form reads the same bytes in place.
        #expect(value.withUnsafeBytes { InternalTopics.parseOffsetCommitValue($0) } == committed)
        #expect(key.withUnsafeBytes { InternalTopics.parseOffsetCommitKey($0)?.topic } == "orders.créées")
        // The default leader epoch is Kafka's "unknown".
        #expect(InternalTopics.parseOffsetCommitValue(InternalTopics.offsetCommitValue(offset: 5, commitTimestamp: 9))
                == OffsetAndMetadata(offset: 5, metadata: "", commitTimestamp: 9, leaderEpoch: -1))
    }

    @Test func versionZeroKeysAndOlderValuesAreRead() {
        let v0 = Self.be(0, 2) + Self.str("g") + Self.str("t") + Self.be(2, 4)
        let k = InternalTopics.parseOffsetCommitKey(v0)
        #expect(k?.group == "g" && k?.topic == "t" && k?.partition == 2)
        // v1 value: offset, metadata, commit timestamp, expire timestamp (no leader epoch).
        let v1 = Self.be(1, 2) + Self.be(42, 8) + Self.str("m") + Self.be(1000, 8) + Self.be(-1, 8)
        #expect(InternalTopics.parseOffsetCommitValue(v1) == OffsetAndMetadata(offset: 42, metadata: "m", commitTimestamp: 1000, leaderEpoch: -1))
        // v0 and v2: offset, metadata, commit timestamp.
        for version: Int64 in [0, 2] {
            let v = Self.be(version, 2) + Self.be(43, 8) + Self.str("") + Self.be(2000, 8)
            #expect(InternalTopics.parseOffsetCommitValue(v) == OffsetAndMetadata(offset: 43, metadata: "", commitTimestamp: 2000, leaderEpoch: -1))
        }
    }

    @Test func groupMetadataKeysAreIgnored() {
        // GroupMetadataKey: version 2, then the group.
        #expect(InternalTopics.parseOffsetCommitKey(Self.be(2, 2) + Self.str("g")) == nil)
        #expect(InternalTopics.parseOffsetCommitKey(Self.be(2, 2) + Self.str("g") + Self.str("t") + Self.be(0, 4)) == nil)
    }

    @Test func truncatedRecordsAreRejected() {
        let key = InternalTopics.offsetCommitKey(group: "group", topic: "topic", partition: 1)
        let value = InternalTopics.offsetCommitValue(offset: 7, metadata: "meta", commitTimestamp: 1, leaderEpoch: 0)
        for n in 0..<key.count { #expect(InternalTopics.parseOffsetCommitKey(Array(key.prefix(n))) == nil, "key cut at \(n)") }
        for n in 0..<value.count { #expect(InternalTopics.parseOffsetCommitValue(Array(value.prefix(n))) == nil, "value cut at \(n)") }
        // A string length past the end is rejected, not read beyond the buffer.
        #expect(InternalTopics.parseOffsetCommitKey(Self.be(1, 2) + Self.be(100, 2) + Array("g".utf8)) == nil)
        // An unknown value version is rejected.
        #expect(InternalTopics.parseOffsetCommitValue(Self.be(9, 2) + Array(value.dropFirst(2))) == nil)
    }
}
