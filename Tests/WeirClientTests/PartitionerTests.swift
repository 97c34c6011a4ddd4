import Testing
import WeirClient

/// Vectors computed with kafka-python 3.0.12's `kafka.partitioner.default.murmur2`, which
/// follows the Java client's `Utils.murmur2`; the partition is for a 12-partition topic.
private let murmur2Vectors: [(key: [UInt8], hash: UInt32, partitionOf12: Int32)] = [
    ([], 275_646_681, 9),
    (Array("a".utf8), 2_731_586_172, 4),
    (Array("ab".utf8), 316_155_434, 2),
    (Array("abc".utf8), 479_470_107, 3),
    (Array("abcd".utf8), 2_971_317_748, 8),
    (Array("abcde".utf8), 461_995_741, 1),
    (Array("key-0".utf8), 29_210_041, 1),
    (Array("user-42".utf8), 1_459_644_460, 4),
    (Array("order-1000000".utf8), 569_167_999, 7),
    (Array(0...255), 2_346_620_022, 10),
    ([0xFF, 0xFE, 0xFD], 998_637_092, 8),
    (Array("ünïcödé".utf8), 201_421_315, 7),
]

@Suite struct PartitionerTests {
    @Test(arguments: 0..<murmur2Vectors.count)
    func murmur2MatchesKafka(index: Int) {
        let v = murmur2Vectors[index]
        let hash = v.key.withUnsafeBytes { kafkaMurmur2($0) }
        #expect(hash == v.hash)
        #expect(kafkaDefaultPartition(forKey: v.key, partitionCount: 12) == v.partitionOf12)
    }

    @Test func partitionIsAlwaysInRange() {
        for n in 0..<2000 {
            let key = Array("k\(n)".utf8)
            for count: Int32 in [1, 3, 7, 64] {
                let p = kafkaDefaultPartition(forKey: key, partitionCount: count)
                #expect(p >= 0 && p < count)
            }
        }
    }
}
