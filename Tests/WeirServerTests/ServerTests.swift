import Foundation
import NIOCore
import Testing
import WeirClient
import WeirLog
import WeirFormat
@testable import WeirServer
#if canImport(Glibc)
import Glibc
#endif

/// A loopback client speaking raw frames. Its socket calls block, so the async entry points run
/// them on a thread of their own: blocking a thread of the cooperative pool (two on a 2-core
/// machine) could starve the server's connection tasks while other suites run in parallel.
final class RawClient: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        // A hang guard: under a parallel suite on 2 loaded cores a response took over 10 s.
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 { throw KafkaProtocolError("connect failed: errno \(errno)") }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Sends a request (header v1 or v2) and returns the response frame (after its size), or nil when the server closed.
    func request(apiKey: Int16, version: Int16, correlationId: Int32, flexible: Bool, body: KafkaWriter = KafkaWriter()) async -> ByteBuffer? {
        nonisolated(unsafe) let body = body
        return await Self.offPool { self.requestBlocking(apiKey: apiKey, version: version, correlationId: correlationId, flexible: flexible, body: body) }
    }

    /// The response frame (after its size), or nil when the server closed.
    func readFrame() async -> ByteBuffer? {
        await Self.offPool { self.readFrameBlocking() }
    }

    static func offPool(_ body: @escaping @Sendable () -> ByteBuffer?) async -> ByteBuffer? {
        await withCheckedContinuation { (c: CheckedContinuation<ByteBuffer?, Never>) in
            Thread { c.resume(returning: body()) }.start()
        }
    }

    func requestBlocking(apiKey: Int16, version: Int16, correlationId: Int32, flexible: Bool, body: KafkaWriter) -> ByteBuffer? {
        var w = KafkaWriter()
        w.writeInt16(apiKey)
        w.writeInt16(version)
        w.writeInt32(correlationId)
        w.writeNullableString("test-client", compact: false)
        if flexible { w.writeUnsignedVarint(0) }
        var b = body.buffer
        w.buffer.writeBuffer(&b)
        var frame = ByteBuffer()
        frame.writeInteger(Int32(w.buffer.readableBytes))
        frame.writeBuffer(&w.buffer)
        send(Array(frame.readableBytesView))
        return readFrameBlocking()
    }

    func readFrameBlocking() -> ByteBuffer? {
        guard let size = readExactly(4) else { return nil }
        let n = Int(UInt32(size[0]) << 24 | UInt32(size[1]) << 16 | UInt32(size[2]) << 8 | UInt32(size[3]))
        guard let body = readExactly(n) else { return nil }
        return ByteBuffer(bytes: body)
    }

    func readExactly(_ n: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, n - got, 0) }
            if r <= 0 { return nil }
            got += r
        }
        return out
    }
}

@Suite(.serialized) struct ServerTests {
    static func withServer(_ body: (KafkaServer, Int) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-serve-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try LogDirectory.open(path: dir)
        let broker = KafkaBroker(directory: log, configuration: BrokerConfiguration())
        let server = KafkaServer(broker: broker, threads: 1)
        let port = try await server.start(host: "127.0.0.1", port: 0)
        broker.setAdvertised(host: nil, port: Int32(port))
        do {
            try await body(server, port)
        } catch {
            await server.shutdown()
            try? log.close()
            throw error
        }
        await server.shutdown()
        try log.close()
    }

    @Test func apiVersionsV3AndTheUnsupportedVersionFallback() async throws {
        try await Self.withServer { _, port in
            let c = try RawClient(port: port)
            var body = KafkaWriter()
            var req = ApiVersionsRequest()
            req.clientSoftwareName = "test"
            req.clientSoftwareVersion = "1"
            req.write(to: &body, version: 3)
            var resp = try #require(await c.request(apiKey: 18, version: 3, correlationId: 41, flexible: true, body: body))
            #expect(resp.readInteger(as: Int32.self) == 41)
            var r = KafkaReader(resp)
            let v3 = try ApiVersionsResponse(from: &r, version: 3)
            #expect(v3.errorCode == 0)
            #expect(v3.apiKeys.contains { $0.apiKey == 1 && $0.maxVersion >= 11 })
            // v99: answered with v0 and UNSUPPORTED_VERSION, the connection stays open.
            var resp2 = try #require(await c.request(apiKey: 18, version: 99, correlationId: 42, flexible: true))
            #expect(resp2.readInteger(as: Int32.self) == 42)
            var r2 = KafkaReader(resp2)
            let v0 = try ApiVersionsResponse(from: &r2, version: 0)
            #expect(v0.errorCode == KafkaErrorCode.unsupportedVersion.rawValue)
            #expect(!v0.apiKeys.isEmpty)
            #expect(await c.request(apiKey: 18, version: 0, correlationId: 43, flexible: false) != nil)
        }
    }

    @Test func badFramesCloseOnlyThatConnection() async throws {
        try await Self.withServer { _, port in
            let good = try RawClient(port: port)
            // Unknown API key.
            let unknown = try RawClient(port: port)
            #expect(await unknown.request(apiKey: 999, version: 0, correlationId: 1, flexible: false) == nil)
            // Oversized frame (over socket.request.max.bytes): closed before any body is read.
            let big = try RawClient(port: port)
            big.send([0x7f, 0xff, 0xff, 0xff, 0, 0])
            #expect(await big.readFrame() == nil)
            // Truncated request: a frame whose body ends inside the header.
            let trunc = try RawClient(port: port)
            trunc.send([0, 0, 0, 3, 0, 3, 0])
            #expect(await trunc.readFrame() == nil)
            // Half a frame, then disconnect.
            do {
                let half = try RawClient(port: port)
                half.send([0, 0, 0, 100, 0, 3])
            }
            // The other client still works.
            var md = KafkaWriter()
            MetadataRequest().write(to: &md, version: 1)
            #expect(await good.request(apiKey: 3, version: 1, correlationId: 7, flexible: false, body: md) != nil)
        }
    }

    @Test func produceThenFetchOverTheWire() async throws {
        try await Self.withServer { server, port in
            try server.broker.directory.createTopic("wire", partitions: 1)
            let c = try RawClient(port: port)
            // A batch built by WeirFormat's builder, through the log's own encoder.
            let batch = try makeBatch()
            var req = ProduceRequest()
            req.acks = 1
            req.timeoutMs = 1000
            var td = ProduceRequest.TopicProduceData()
            td.name = "wire"
            var pd = ProduceRequest.TopicProduceData.PartitionProduceData()
            pd.records = KafkaRecords(bytes: ByteBuffer(bytes: batch))
            td.partitionData = [pd]
            req.topicData = [td]
            var body = KafkaWriter()
            req.write(to: &body, version: 9)
            var resp = try #require(await c.request(apiKey: 0, version: 9, correlationId: 5, flexible: true, body: body))
            _ = resp.readInteger(as: Int32.self)
            var r = KafkaReader(resp)
            _ = try r.readUnsignedVarint()  // response header tagged fields
            let pr = try ProduceResponse(from: &r, version: 9)
            #expect(pr.responses.first?.partitionResponses.first?.errorCode == 0)
            #expect(pr.responses.first?.partitionResponses.first?.baseOffset == 0)

            var f = FetchRequest()
            f.maxWaitMs = 100
            f.minBytes = 1
            var ft = FetchRequest.FetchTopic()
            ft.topic = "wire"
            var fp = FetchRequest.FetchTopic.FetchPartition()
            fp.partitionMaxBytes = 1 << 20
            ft.partitions = [fp]
            f.topics = [ft]
            for (v, flexible) in [(Int16(4), false), (Int16(11), false), (Int16(12), true)] {
                var fb = KafkaWriter()
                f.write(to: &fb, version: v)
                var fresp = try #require(await c.request(apiKey: 1, version: v, correlationId: 6, flexible: flexible, body: fb))
                _ = fresp.readInteger(as: Int32.self)
                var fr = KafkaReader(fresp)
                if flexible { _ = try fr.readUnsignedVarint() }
                let fetched = try FetchResponse(from: &fr, version: v)
                let part = try #require(fetched.responses.first?.partitions.first)
                #expect(part.errorCode == 0)
                #expect(part.highWatermark == 3)
                #expect(part.records?.count == batch.count, "v\(v): the batch comes back byte for byte")
            }
            // Each request's broker time is in /metrics: one produce, three fetches. A request is
            // recorded once its response is written, so the last one may land just after the
            // client has read it: wait for it (bounded).
            var text = server.prometheusText()
            for _ in 0..<100 where !text.contains("weir_serve_request_seconds_count{kind=\"fetch\"} 3\n") {
                try await Task.sleep(for: .milliseconds(20))
                text = server.prometheusText()
            }
            #expect(text.contains("weir_serve_request_seconds_count{kind=\"produce\"} 1\n"))
            #expect(text.contains("weir_serve_request_seconds_count{kind=\"fetch\"} 3\n"))
            #expect(server.metrics.requestTimes.quantileUpperBound(.produce, 0.99) != nil)
        }
    }
}

func makeBatch() throws -> [UInt8] {
    let b = try RecordBatchBuilder()
    for i in 0..<3 {
        _ = b.append(timestamp: 1_700_000_000_000 + Int64(i), key: Array("k\(i)".utf8), value: Array("value \(i)".utf8))
    }
    return try b.build()
}
