import Foundation
import Testing
@testable import WeirCompression

/// Interop with the reference command-line tools (`gzip`; `zstd` and `lz4` from
/// `./scripts/setup`): we decode what they write, in their default and non-default framings,
/// and they decode what we write.
@Suite(.enabled(if: Shell.has("gzip") && Shell.has("zstd") && Shell.has("lz4")))
struct InteropTests {
    static let payload = Payloads.json(2 << 20, seed: 23)

    @Test(arguments: [
        // (codec, shell command reading IN and writing OUT)
        (CompressionCodec.gzip, "gzip -c -6 IN > OUT"),
        (.gzip, "gzip -c -1 < IN > OUT"),
        (.gzip, "gzip -c -9 IN > OUT"),
        (.gzip, "head -c 1000 IN | gzip -c > OUT && tail -c +1001 IN | gzip -c >> OUT"),  // two members
        (.zstd, "zstd -q -c IN > OUT"),  // content size in the header: one-shot path
        (.zstd, "cat IN | zstd -q -c -1 > OUT"),  // streamed: no content size
        (.zstd, "cat IN | zstd -q -c -19 --check > OUT"),
        (.zstd, "zstd -q -c --fast=5 IN > OUT"),
        (.zstd, "head -c 1000 IN | zstd -q -c > OUT && tail -c +1001 IN | zstd -q -c >> OUT"),  // two frames
        (.lz4, "lz4 -q -c IN > OUT"),  // 4 MiB blocks, content checksum
        (.lz4, "lz4 -q -c -B4 -BD IN > OUT"),  // linked 64 KiB blocks
        (.lz4, "lz4 -q -c -B5 -BX --content-size IN > OUT"),  // block checksums, content size
        (.lz4, "cat IN | lz4 -q -c -9 > OUT"),
    ])
    func weDecodeTheirs(codec: CompressionCodec, command: String) throws {
        let output = try Shell.run(command, input: Self.payload)
        #expect(try Decompressor(codec: codec).decompress(output) == Self.payload, "\(command)")
    }

    @Test(arguments: [
        (CompressionCodec.gzip, "gzip -d -c < IN > OUT"),
        (.zstd, "zstd -q -d -c < IN > OUT"),
        (.lz4, "lz4 -q -d -c < IN > OUT"),
    ])
    func theyDecodeOurs(codec: CompressionCodec, command: String) throws {
        let levels: [Int?] = [codec.levelRange!.lowerBound, nil, codec == .zstd ? 19 : codec.levelRange!.upperBound]
        for level in levels {
            let compressed = try Compressor(codec: codec, level: level).compress(Self.payload)
            let decoded = try Shell.run(command, input: compressed)
            #expect(decoded == Self.payload, "\(codec) level \(String(describing: level))")
        }
    }
}

enum Shell {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func has(_ tool: String) -> Bool {
        (try? run("command -v \(tool) > OUT", input: [])).map { !$0.isEmpty } ?? false
    }

    /// Runs `command` with `/bin/sh`, replacing IN and OUT with temporary files; writes
    /// `input` to IN and returns what the command left in OUT.
    static func run(_ command: String, input: [UInt8]) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("weir-compression-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inURL = directory.appendingPathComponent("in")
        let outURL = directory.appendingPathComponent("out")
        try Data(input).write(to: inURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c",
            command.replacingOccurrences(of: "IN", with: "'\(inURL.path)'")
                .replacingOccurrences(of: "OUT", with: "'\(outURL.path)'"),
        ]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(command) exited with \(process.terminationStatus)")
        }
        return [UInt8](try Data(contentsOf: outURL))
    }
}
