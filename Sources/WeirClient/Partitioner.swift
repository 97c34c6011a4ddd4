/// Chooses the partition of a record, as Kafka's producers do.
///
/// Mirrors the producer's `partitioner.class` / librdkafka's `partitioner` settings:
/// - `.default`: murmur2 of the key, made positive, modulo the partition count — the same
///   partition number a Java or librdkafka (`murmur2_random`) client picks for the same key —
///   and, for a null key, the sticky partition of the current batch.
/// - `.roundRobin`: every record to the next partition in turn, keys ignored.
/// - `.explicit(n)`: always partition `n`.
public enum PartitionStrategy: Sendable, Equatable {
    case `default`
    case roundRobin
    case explicit(Int32)
}

/// Kafka's murmur2 hash (`org.apache.kafka.common.utils.Utils.murmur2`): seed 0x9747b28c,
/// 4-byte little-endian blocks, returned as the 32-bit pattern of Java's `int`.
@inlinable
public func kafkaMurmur2(_ key: UnsafeRawBufferPointer) -> UInt32 {
    let seed: UInt32 = 0x9747_B28C
    let m: UInt32 = 0x5BD1_E995
    let r: UInt32 = 24
    let length = key.count
    var h = seed ^ UInt32(truncatingIfNeeded: length)
    let blocks = length / 4
    for i in 0..<blocks {
        var k = key.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian
        k = k &* m
        k ^= k >> r
        k = k &* m
        h = h &* m
        h ^= k
    }
    let tail = blocks * 4
    switch length & 3 {
    case 3:
        h ^= UInt32(key[tail + 2]) << 16
        h ^= UInt32(key[tail + 1]) << 8
        h ^= UInt32(key[tail])
        h = h &* m
    case 2:
        h ^= UInt32(key[tail + 1]) << 8
        h ^= UInt32(key[tail])
        h = h &* m
    case 1:
        h ^= UInt32(key[tail])
        h = h &* m
    default:
        break
    }
    h ^= h >> 13
    h = h &* m
    h ^= h >> 15
    return h
}

/// The partition Kafka's default partitioner gives a non-null key:
/// `toPositive(murmur2(key)) % partitionCount`.
@inlinable
public func kafkaDefaultPartition(forKey key: UnsafeRawBufferPointer, partitionCount: Int32) -> Int32 {
    precondition(partitionCount > 0, "a topic has at least one partition")
    return Int32(truncatingIfNeeded: kafkaMurmur2(key) & 0x7FFF_FFFF) % partitionCount
}

/// The partition Kafka's default partitioner gives a non-null key.
public func kafkaDefaultPartition(forKey key: some Collection<UInt8>, partitionCount: Int32) -> Int32 {
    if let p = key.withContiguousStorageIfAvailable({
        kafkaDefaultPartition(forKey: UnsafeRawBufferPointer($0), partitionCount: partitionCount)
    }) {
        return p
    }
    return Array(key).withUnsafeBytes { kafkaDefaultPartition(forKey: $0, partitionCount: partitionCount) }
}
