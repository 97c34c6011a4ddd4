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

extension CompressionError {
    static func corrupt(_ codec: CompressionCodec, _ detail: String) -> CompressionError {
        CompressionError(
            .corruptInput, codec: codec,
            "corrupt \(codec.name) payload: \(detail); the batch is damaged or was written with another compression.type")
    }

    static func truncated(_ codec: CompressionCodec, _ inputCount: Int, _ detail: String = "") -> CompressionError {
        let what = detail.isEmpty ? "" : " (\(detail))"
        return CompressionError(
            .truncatedInput, codec: codec,
            "\(codec.name) payload of \(inputCount) bytes ends before its frame does\(what); the batch was cut short")
    }

    static func tooLarge(_ codec: CompressionCodec, _ maxOutputBytes: Int) -> CompressionError {
        CompressionError(
            .outputTooLarge, codec: codec,
            "decompressed \(codec.name) payload exceeds maxOutputBytes (\(maxOutputBytes)); raise the limit if the batch is legitimate")
    }

    static func library(_ codec: CompressionCodec, _ detail: String) -> CompressionError {
        CompressionError(.libraryFailure, codec: codec, "\(codec.name) library failure: \(detail)")
    }
}
