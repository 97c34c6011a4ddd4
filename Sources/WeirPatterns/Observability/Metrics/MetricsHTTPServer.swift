import Foundation
#if canImport(Glibc)
import Glibc
#endif
public import ServiceLifecycle
import Synchronization

/// A minimal HTTP/1.1 server for Prometheus scrapes: `GET /metrics` answers with `render()`'s
/// text (content type `text/plain; version=0.0.4`), any other path 404, any other method 405.
/// One connection at a time, `Connection: close`; enough for a scraper, not a web server.
///
/// It runs on its own thread (a blocking accept loop with a short poll timeout) and stops on
/// `stop()`, on graceful shutdown when run as a `Service`, or on cancellation. A server serves
/// once: after it stopped, make a new one.
public final class MetricsHTTPServer: Service, Sendable {
    public let host: String
    let requestedPort: UInt16
    let render: @Sendable () -> String
    let _fd = Atomic<Int32>(-1)
    let _port = Atomic<UInt16>(0)
    let _stop = Atomic<Bool>(false)
    let _done = Mutex<(finished: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// - Parameters:
    ///   - host: an IPv4 address to bind (`127.0.0.1` for local scrapes, `0.0.0.0` for all).
    ///   - port: the TCP port; 0 for any free port (read `port` after `start()`).
    ///   - render: the exposition, built per request.
    public init(host: String = "127.0.0.1", port: UInt16, render: @escaping @Sendable () -> String) {
        self.host = host
        self.requestedPort = port
        self.render = render
    }

    /// The bound port (after `start()`).
    public var port: UInt16 { _port.load(ordering: .acquiring) }

    /// Parses `HOST:PORT` (or `:PORT`, meaning 127.0.0.1).
    public static func parseAddress(_ text: String) throws(ObservabilityError) -> (host: String, port: UInt16) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw ObservabilityError(.invalidArgument, "'\(text)' is not HOST:PORT; write e.g. 127.0.0.1:9464.")
        }
        let host = colon == text.startIndex ? "127.0.0.1" : String(text[..<colon])
        var addr = in_addr()
        guard inet_pton(AF_INET, host, &addr) == 1 else {
            throw ObservabilityError(.invalidArgument, "'\(host)' is not an IPv4 address; write e.g. 127.0.0.1:9464 or 0.0.0.0:9464.")
        }
        return (host, port)
    }

    /// Binds, listens and starts serving on a new thread. Returns the bound port.
    @discardableResult
    public func start() throws(ObservabilityError) -> UInt16 {
        if _fd.load(ordering: .acquiring) >= 0 { return port }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ObservabilityError(.bindFailed, "socket() failed: \(String(cString: strerror(errno))).") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = requestedPort.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd)
            throw ObservabilityError(.invalidArgument, "'\(host)' is not an IPv4 address; write e.g. 127.0.0.1.")
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw ObservabilityError(.bindFailed, "cannot listen on \(host):\(requestedPort): \(why); choose another port or stop the process using it.",
                                     isRetriable: true)
        }
        var actual = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        _port.store(UInt16(bigEndian: actual.sin_port), ordering: .releasing)
        _fd.store(fd, ordering: .releasing)
        let thread = Thread { [self] in
            self._serve(fd)
            close(fd)
            let waiters = self._done.withLock { d -> [CheckedContinuation<Void, Never>] in
                d.finished = true
                defer { d.waiters = [] }
                return d.waiters
            }
            for w in waiters { w.resume() }
        }
        thread.name = "weir-metrics-http"
        thread.start()
        return port
    }

    /// Stops accepting; the serving thread ends within its poll interval.
    public func stop() { _stop.store(true, ordering: .releasing) }

    /// Waits until the serving thread has ended (after `stop()`).
    public func waitUntilStopped() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = _done.withLock { d -> Bool in
                if d.finished || _fd.load(ordering: .acquiring) < 0 { return true }
                d.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// `Service`: starts, serves until graceful shutdown or cancellation, then stops.
    public func run() async throws {
        try start()
        try? await gracefulShutdown()
        stop()
        await waitUntilStopped()
    }

    func _serve(_ fd: Int32) {
        while !_stop.load(ordering: .acquiring) {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, 100)
            if n <= 0 { continue }
            let client = accept(fd, nil, nil)
            if client < 0 { continue }
            _handle(client)
            close(client)
        }
    }

    func _handle(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        _ = setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while request.count < 16 << 10 {
            let n = buf.withUnsafeMutableBytes { recv(client, $0.baseAddress, 4096, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            request += buf[0..<n]
            if request.firstRange(of: [13, 10, 13, 10]) != nil { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let response: (status: String, type: String, body: String)
        if parts.count < 2 {
            response = ("400 Bad Request", "text/plain", "bad request\n")
        } else if parts[0] != "GET" {
            response = ("405 Method Not Allowed", "text/plain", "only GET is supported\n")
        } else if parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") {
            response = ("200 OK", "text/plain; version=0.0.4; charset=utf-8", render())
        } else {
            response = ("404 Not Found", "text/plain", "not found; the exposition is at /metrics\n")
        }
        let body = Array(response.body.utf8)
        let head = "HTTP/1.1 \(response.status)\r\nContent-Type: \(response.type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        _sendAll(client, Array(head.utf8) + body)
    }

    func _sendAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 { if errno == EINTR { continue } else { return } }
                offset += n
            }
        }
    }
}
