internal import NIOCore
internal import WeirClient
internal import Foundation

/// One request frame and when the event loop read it.
struct KafkaFrame: Sendable {
    let bytes: ByteBuffer
    /// `monotonicNanos()` when the frame arrived.
    let received: UInt64
}

/// Feeds a connection's request frames, in order, to one task that answers them one at a time
/// (as Kafka does: a connection's responses go out in request order).
final class KafkaRequestStreamHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let continuation: AsyncStream<KafkaFrame>.Continuation

    init(continuation: AsyncStream<KafkaFrame>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(KafkaFrame(bytes: unwrapInboundIn(data), received: monotonicNanos()))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A malformed or oversized frame: this client's connection closes; nobody else notices.
        KafkaServer.log(["event": "connection_error", "remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")", "error": "\(error)"])
        continuation.finish()
        context.close(promise: nil)
    }
}

/// One client connection: parses each request header, calls the broker, writes the response.
struct KafkaConnection: Sendable {
    let channel: any Channel
    let broker: KafkaBroker
    let zeroCopy: Bool
    let server: KafkaServer

    func run(_ frames: AsyncStream<KafkaFrame>) async {
        let remote = channel.remoteAddress.map { "\($0)" } ?? "?"
        let start = monotonicNanos()
        var requests = 0
        var clientId = ""
        var closeReason = "client closed"
        let state = KafkaSessionState(broker: broker, sasl: server.sasl)
        for await frame in frames {
            requests += 1
            server.metrics.requests.add(1, ordering: .relaxed)
            do {
                let response = try await answer(frame.bytes, state: state, clientId: &clientId)
                if let response { try await write(response) }
                let key = frame.bytes.getInteger(at: frame.bytes.readerIndex, as: Int16.self) ?? -1
                server.metrics.requestTimes.record(RequestTimes.Kind(key), .nanoseconds(Int64(monotonicNanos() - frame.received)))
            } catch let e as KafkaProtocolError {
                closeReason = e.message
                break
            } catch {
                closeReason = "\(error)"
                break
            }
            if state.closeAfterResponse { closeReason = state.closeReason; break }
        }
        try? await channel.close()
        KafkaServer.log(["event": "connection", "remote": remote, "client_id": clientId, "requests": "\(requests)",
                         "principal": state.principal.description, "duration_ms": "\((monotonicNanos() - start) / 1_000_000)",
                         "closed": closeReason])
    }

    /// The whole response (size, header, body), or nil for none; throws to close the connection.
    func answer(_ frame: ByteBuffer, state: KafkaSessionState, clientId: inout String) async throws(KafkaProtocolError) -> KafkaWriter? {
        var r = KafkaReader(frame)
        let rawKey = try r.readInt16()
        let version = try r.readInt16()
        let correlationId = try r.readInt32()
        let cid = try r.readNullableString(compact: false)
        clientId = cid ?? ""
        guard let key = ApiKey(rawValue: rawKey), let supported = KafkaBroker.supportedVersions[key], supported.contains(version) else {
            return try unsupported(rawKey, version, correlationId)
        }
        if key.isFlexible(version) {
            try r.readTaggedFields { (_, _) throws(KafkaProtocolError) in }
        }
        let ctx = RequestContext(apiKey: key, apiVersion: version, correlationId: correlationId, clientId: cid,
                                 principal: state.principal, zeroCopy: zeroCopy)
        let body: KafkaWriter?
        if let early = try await state.intercept(ctx, &r) {
            body = early
        } else {
            body = try await broker.handle(ctx, &r)
        }
        guard let body else { return nil }
        // ApiVersions responses always use header v0 (a client cannot know yet whether it is flexible).
        return frameResponse(correlationId: correlationId, flexibleHeader: key != .apiVersions && key.isFlexible(version), body: body)
    }

    /// Kafka's answer to an API or version the broker does not serve. ApiVersions gets Kafka's
    /// fallback (a v0 answer with the supported ranges, so the client can retry lower); every
    /// other API of Kafka's definitions gets its response with `UNSUPPORTED_VERSION`; an API key
    /// Kafka does not define closes the connection, as Kafka does.
    func unsupported(_ rawKey: Int16, _ version: Int16, _ correlationId: Int32) throws(KafkaProtocolError) -> KafkaWriter {
        if rawKey == ApiKey.apiVersions.rawValue {
            var resp = broker.apiVersions(ApiVersionsRequest(), version: 0)
            resp.errorCode = KafkaErrorCode.unsupportedVersion.rawValue
            var body = KafkaWriter()
            resp.write(to: &body, version: 0)
            return frameResponse(correlationId: correlationId, flexibleHeader: false, body: body)
        }
        guard let body = UnsupportedVersionResponse.body(apiKey: rawKey, version: version,
                                                         errorCode: KafkaErrorCode.unsupportedVersion.rawValue) else {
            throw KafkaProtocolError("unknown API key \(rawKey) (correlation id \(correlationId)); closing the connection as Kafka does.")
        }
        return frameResponse(correlationId: correlationId,
                             flexibleHeader: UnsupportedVersionResponse.isFlexible(apiKey: rawKey, version: version), body: body)
    }

    func frameResponse(correlationId: Int32, flexibleHeader: Bool, body: KafkaWriter) -> KafkaWriter {
        var out = KafkaWriter(capacity: 16)
        let headerSize = flexibleHeader ? 5 : 4
        out.writeInt32(Int32(headerSize + body.count))
        out.writeInt32(correlationId)
        if flexibleHeader { out.writeUnsignedVarint(0) }
        if body.parts.isEmpty {
            var b = body.buffer
            out.buffer.writeBuffer(&b)
            return out
        }
        out.parts = [.buffer(out.buffer)] + body.parts
        out.buffer = body.buffer
        return out
    }

    func write(_ w: KafkaWriter) async throws {
        if w.parts.isEmpty {
            try await channel.writeAndFlush(w.buffer)
            return
        }
        for part in w.parts {
            switch part {
            case .buffer(let b):
                if b.readableBytes > 0 { channel.write(b, promise: nil) }
            case .file(let f):
                let region = FileRegion(fileHandle: f.handle, readerIndex: f.offset, endIndex: f.offset + f.length)
                channel.write(IOData.fileRegion(region)).whenComplete { _ in try? f.handle.close() }
            }
        }
        try await channel.writeAndFlush(w.buffer)
    }
}
