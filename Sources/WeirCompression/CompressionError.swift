/// A typed compression failure. The message says what went wrong and what to do.
public struct CompressionError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// The `compression.type` name is not a known codec.
        case unknownCodec
        /// The `compression.level` is outside the codec's range.
        case invalidLevel
        /// The compressed input is malformed (bad magic, bad checksum, bad block).
        case corruptInput
        /// The compressed input ends before its frame or stream does.
        case truncatedInput
        /// Decompressing would exceed the caller's output limit.
        case outputTooLarge
        /// The codec library failed for a reason other than bad input (e.g. out of memory).
        case libraryFailure
    }

    public var code: Code
    public var codec: CompressionCodec?
    public var message: String

    public init(_ code: Code, codec: CompressionCodec?, _ message: String) {
        self.code = code
        self.codec = codec
        self.message = message
    }

    public var description: String {
        if let codec { return "\(codec.name): \(message)" }
        return message
    }
}
