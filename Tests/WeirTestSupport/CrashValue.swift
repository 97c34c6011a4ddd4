/// The value `weir-log-crash-writer` stores at `offset`; the crash tests check every
/// acknowledged record against it.
public func crashValue(_ offset: Int64) -> [UInt8] {
    var v = Array("crash-\(offset)-".utf8)
    var x = UInt64(bitPattern: offset) &* 0x9E37_79B9_7F4A_7C15 | 1
    let size = 40 + Int(x % 200)
    while v.count < size {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        v.append(UInt8(truncatingIfNeeded: x))
    }
    return v
}
