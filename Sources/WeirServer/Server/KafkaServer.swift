public import NIOCore
internal import NIOPosix
public import NIOSSL
internal import WeirLog
internal import Synchronization
internal import Foundation

/// `weir serve`: a single-node Kafka-protocol broker over an open log directory.
///
/// Each accepted connection gets a frame decoder (bounded by `socket.request.max.bytes`) and
/// one task that answers its requests in order. A bad frame closes only that connection.
public final class KafkaServer: Sendable {
    public final class Metrics: Sendable {
        let connections = Atomic<Int>(0)
        let openConnections = Atomic<Int>(0)
        let requests = Atomic<Int>(0)
        /// Per-request broker time (`weir_serve_request_seconds`).
        public let requestTimes = RequestTimes()
    }

    public let broker: KafkaBroker
    let group: MultiThreadedEventLoopGroup
    let tls: NIOSSLContext?
    let sasl: SaslConfiguration?
    let serverChannel = Mutex<(any Channel)?>(nil)
    let tasks = Mutex<[UInt64: Task<Void, Never>]>([:])
    let nextId = Atomic<UInt64>(0)
    public let metrics = Metrics()

    public init(broker: KafkaBroker, tls: NIOSSLContext? = nil, sasl: SaslConfiguration? = nil, threads: Int = System.coreCount) {
        self.broker = broker
        self.tls = tls
        self.sasl = sasl
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
    }

    /// Binds and starts accepting; returns the bound port (useful with port 0).
    public func start(host: String, port: Int) async throws -> Int {
        let maxFrame = broker.config.socketRequestMaxBytes
        let zeroCopy = tls == nil
        let tls = self.tls
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    let (stream, continuation) = AsyncStream<KafkaFrame>.makeStream(bufferingPolicy: .unbounded)
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: maxFrame)))
                    try channel.pipeline.syncOperations.addHandler(KafkaRequestStreamHandler(continuation: continuation))
                    self.accept(channel, stream, zeroCopy: zeroCopy)
                }
            }
        let ch = try await bootstrap.bind(host: host, port: port).get()
        serverChannel.withLock { $0 = ch }
        return ch.localAddress?.port ?? port
    }

    func accept(_ channel: any Channel, _ stream: AsyncStream<KafkaFrame>, zeroCopy: Bool) {
        metrics.connections.add(1, ordering: .relaxed)
        metrics.openConnections.add(1, ordering: .relaxed)
        let id = nextId.add(1, ordering: .relaxed).newValue
        let conn = KafkaConnection(channel: channel, broker: broker, zeroCopy: zeroCopy, server: self)
        let task = Task {
            await conn.run(stream)
            self.metrics.openConnections.subtract(1, ordering: .relaxed)
            _ = self.tasks.withLock { $0.removeValue(forKey: id) }
        }
        tasks.withLock { $0[id] = task }
    }

    /// Stops accepting, lets each connection finish the request it is answering, closes them,
    /// and stops the event loops. The log directory stays open (its owner closes it).
    public func shutdown() async {
        let ch = serverChannel.withLock { c in defer { c = nil }; return c }
        try? await ch?.close()
        let running = tasks.withLock { $0 }
        for (_, t) in running { t.cancel() }
        for (_, t) in running { await t.value }
        try? await group.shutdownGracefully()
    }

    /// Prometheus text for `/metrics` (the server's own counters).
    public func prometheusText() -> String {
        """
        # TYPE weir_serve_connections_total counter
        weir_serve_connections_total \(metrics.connections.load(ordering: .relaxed))
        # TYPE weir_serve_open_connections gauge
        weir_serve_open_connections \(metrics.openConnections.load(ordering: .relaxed))
        # TYPE weir_serve_requests_total counter
        weir_serve_requests_total \(metrics.requests.load(ordering: .relaxed))

        """ + metrics.requestTimes.prometheusText()
    }

    /// One JSON log line on stderr (the server's connection log).
    static func log(_ fields: [String: String]) {
        var f = fields
        f["ts"] = ISO8601DateFormatter().string(from: Date())
        if let data = try? JSONSerialization.data(withJSONObject: f, options: [.sortedKeys]), var s = String(data: data, encoding: .utf8) {
            s += "\n"
            FileHandle.standardError.write(Data(s.utf8))
        }
    }
}
