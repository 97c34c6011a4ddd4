// libFuzzer target: what a Kafka client sends to `weir serve`, through the server's own frame
// decoder, request-header parse and every generated request decoder.
//
// Input: one mode byte, then
//   - mode bit 0 clear: a client's byte stream. It goes through `KafkaFrameDecoder` (the
//     `ByteToMessageDecoder` of every connection, in an `EmbeddedChannel`) and each frame it
//     yields is decoded as below;
//   - mode bit 0 set: one request frame without its size prefix (so that mutations that change
//     lengths still reach the decoders).
// A frame is decoded as `KafkaConnection.answer` does: api key, version, correlation id, client
// id, the flexible header's tagged fields, then the body with the API's generated decoder. A
// version outside the API's `validVersions` is mapped into it, so that every version's decoder
// is reached. Every decoded request is written back with its generated encoder and decoded
// again; the second encoding must equal the first (the decoders and encoders agree). The group
// protocol bytes of JoinGroup and SyncGroup also go through the consumer-protocol decoders.
//
// Every input must either decode or throw `KafkaProtocolError`; never a trap, a sanitizer
// report, an allocation a length field asks for, or a hang. Built and run by scripts/fuzz (it
// needs only WeirKafkaProtocol, NIOCore and NIOEmbedded, not the rest of WeirServer); see
// docs/campaigns.md.
import NIOCore
import NIOEmbedded
@testable import WeirKafkaProtocol

/// Decodes one request at `version`, encodes it, decodes and encodes that again, and requires
/// both encodings to be equal. Returns the first decoded value (nil if the input did not decode).
@discardableResult
func roundTrip<T>(_ r: inout KafkaReader, _ version: Int16, _ what: String,
                  _ decode: (inout KafkaReader, Int16) throws(KafkaProtocolError) -> T,
                  _ encode: (T, inout KafkaWriter, Int16) -> Void) -> T? {
    let first: T
    do { first = try decode(&r, version) } catch { return nil }
    var w1 = KafkaWriter()
    encode(first, &w1, version)
    precondition(w1.parts.isEmpty, "\(what) v\(version): a decoded request wrote file slices")
    var r2 = KafkaReader(w1.buffer)
    let second: T
    do {
        second = try decode(&r2, version)
    } catch {
        preconditionFailure("\(what) v\(version): its own encoding does not decode: \(error)")
    }
    precondition(r2.remaining == 0, "\(what) v\(version): \(r2.remaining) bytes of its own encoding were not read")
    var w2 = KafkaWriter()
    encode(second, &w2, version)
    precondition(w1.buffer == w2.buffer, "\(what) v\(version): encode(decode(encode(x))) differs from encode(x)")
    return first
}

/// The consumer-protocol bytes a group member sends (its subscription, or an assignment).
func consumerProtocol(_ bytes: [UInt8], assignment: Bool) {
    var buf = ByteBuffer()
    buf.writeBytes(bytes)
    var r = KafkaReader(buf)
    guard let v = try? r.readInt16() else { return }
    if assignment {
        let range = ConsumerProtocolAssignment.validVersions
        roundTrip(&r, min(max(v, range.lowerBound), range.upperBound), "ConsumerProtocolAssignment",
                  ConsumerProtocolAssignment.init(from:version:), { $0.write(to: &$1, version: $2) })
    } else {
        let range = ConsumerProtocolSubscription.validVersions
        roundTrip(&r, min(max(v, range.lowerBound), range.upperBound), "ConsumerProtocolSubscription",
                  ConsumerProtocolSubscription.init(from:version:), { $0.write(to: &$1, version: $2) })
    }
}

/// The body of one request of `key` at `v`.
func body(_ key: ApiKey, _ v: Int16, _ r: inout KafkaReader) {
    let name = "\(key)"
    switch key {
    case .produce: roundTrip(&r, v, name, ProduceRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .fetch: roundTrip(&r, v, name, FetchRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .listOffsets: roundTrip(&r, v, name, ListOffsetsRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .metadata: roundTrip(&r, v, name, MetadataRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .offsetCommit: roundTrip(&r, v, name, OffsetCommitRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .offsetFetch: roundTrip(&r, v, name, OffsetFetchRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .findCoordinator: roundTrip(&r, v, name, FindCoordinatorRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .joinGroup:
        if let req = roundTrip(&r, v, name, JoinGroupRequest.init(from:version:), { $0.write(to: &$1, version: $2) }) {
            for p in req.protocols { consumerProtocol(p.metadata, assignment: false) }
        }
    case .heartbeat: roundTrip(&r, v, name, HeartbeatRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .leaveGroup: roundTrip(&r, v, name, LeaveGroupRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .syncGroup:
        if let req = roundTrip(&r, v, name, SyncGroupRequest.init(from:version:), { $0.write(to: &$1, version: $2) }) {
            for a in req.assignments { consumerProtocol(a.assignment, assignment: true) }
        }
    case .describeGroups: roundTrip(&r, v, name, DescribeGroupsRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .listGroups: roundTrip(&r, v, name, ListGroupsRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .saslHandshake: roundTrip(&r, v, name, SaslHandshakeRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .apiVersions: roundTrip(&r, v, name, ApiVersionsRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .createTopics: roundTrip(&r, v, name, CreateTopicsRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .deleteTopics: roundTrip(&r, v, name, DeleteTopicsRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .deleteRecords: roundTrip(&r, v, name, DeleteRecordsRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .initProducerId: roundTrip(&r, v, name, InitProducerIdRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .offsetForLeaderEpoch:
        roundTrip(&r, v, name, OffsetForLeaderEpochRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .addPartitionsToTxn:
        roundTrip(&r, v, name, AddPartitionsToTxnRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .addOffsetsToTxn: roundTrip(&r, v, name, AddOffsetsToTxnRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .endTxn: roundTrip(&r, v, name, EndTxnRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .txnOffsetCommit: roundTrip(&r, v, name, TxnOffsetCommitRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .describeConfigs: roundTrip(&r, v, name, DescribeConfigsRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .alterConfigs: roundTrip(&r, v, name, AlterConfigsRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .saslAuthenticate: roundTrip(&r, v, name, SaslAuthenticateRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .createPartitions: roundTrip(&r, v, name, CreatePartitionsRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .deleteGroups: roundTrip(&r, v, name, DeleteGroupsRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .incrementalAlterConfigs:
        roundTrip(&r, v, name, IncrementalAlterConfigsRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    case .describeCluster: roundTrip(&r, v, name, DescribeClusterRequest.init(from:version:), { $0.write(to: &$1, version: $2) })
    }
}

/// One request frame: the header as `KafkaConnection.answer` reads it, then the body.
func frame(_ frame: ByteBuffer) {
    var r = KafkaReader(frame)
    do throws(KafkaProtocolError) {
        let rawKey = try r.readInt16()
        let rawVersion = try r.readInt16()
        _ = try r.readInt32()  // correlation id
        guard let key = ApiKey(rawValue: rawKey) else { return }
        _ = try r.readNullableString(compact: false)  // client id (header v1 and v2)
        let range = key.validVersions
        let version = range.contains(rawVersion)
            ? rawVersion : range.lowerBound + Int16(Int(rawVersion.magnitude) % range.count)
        if key.isFlexible(version) {
            try r.readTaggedFields { (_, _) throws(KafkaProtocolError) in }
        }
        body(key, version, &r)
    } catch {
        return
    }
}

/// The largest frame a fuzz input can hold; `socket.request.max.bytes` is far larger.
let maxFrameBytes = 1 << 20

/// One channel for every input: making an `EmbeddedChannel` per input cost about a third of the
/// target's own time (perf). Each input still gets a fresh `KafkaFrameDecoder`, added before its
/// bytes and removed after them, as each connection gets its own.
nonisolated(unsafe) let channel = EmbeddedChannel()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    var buf = ByteBuffer()
    buf.writeBytes(UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 1 {
        frame(buf)
        return 0
    }
    let decoder = ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: maxFrameBytes))
    try! channel.pipeline.syncOperations.addHandler(decoder)
    do {
        try channel.writeInbound(buf)
    } catch {
        // A negative or oversized frame size: the connection closes; the frames before it count.
    }
    while let f = try? channel.readInbound(as: ByteBuffer.self) { frame(f) }
    // The end of the connection: a partial frame is dropped (`decodeLast`).
    channel.pipeline.syncOperations.removeHandler(decoder, promise: nil)
    channel.embeddedEventLoop.run()
    while let f = try? channel.readInbound(as: ByteBuffer.self) { frame(f) }
    try? channel.throwIfErrorCaught()
    return 0
}
