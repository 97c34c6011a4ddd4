package import NIOCore

/// Splits the byte stream into Kafka request frames: an int32 size, then that many bytes.
///
/// A size that is negative or over `socket.request.max.bytes` closes the connection (Kafka's
/// `InvalidReceiveException`) before anything is buffered for it.
package struct KafkaFrameDecoder: ByteToMessageDecoder {
    package typealias InboundOut = ByteBuffer

    /// `socket.request.max.bytes` (Kafka's default 104857600).
    package let maxFrameBytes: Int

    package init(maxFrameBytes: Int) { self.maxFrameBytes = maxFrameBytes }

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else { return .needMoreData }
        guard size >= 0, Int(size) <= maxFrameBytes else {
            throw KafkaProtocolError("request frame of \(size) bytes is outside 0...\(maxFrameBytes) (socket.request.max.bytes); closing the connection.")
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let frame = buffer.readSlice(length: Int(size))!
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    package mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A client that disconnects mid-request: drop the partial frame.
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
