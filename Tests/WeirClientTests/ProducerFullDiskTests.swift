import Foundation
import Testing
import WeirLog
import WeirTestSupport
@testable import WeirClient


@Suite struct ProducerFullDiskTests {
    /// Issue 16, defect 4: a full disk at a roll reaches every waiting send as the retriable
    /// `noSpace` (not a hang, not a generic timeout), and producing works once space is freed.
    @Test(.enabled(if: geteuid() == 0, "mounts a tmpfs: needs root"))
    func aFullDiskAtARollFailsEveryWaitingSendWithNoSpace() async throws {
        let ran = try await withTmpfs("2m") { path in
            let dir = try LogDirectory.open(path: path + "/logs", options: LogDirectory.Options(maintenanceIntervalMs: nil))
            try Admin(logDirectory: dir).createTopic("t", partitions: 1, configs: ["segment.bytes": "524288", "segment.index.bytes": "4096"])
            let producer = try Producer(configuration: try config(["acks": "all", "linger.ms": "0", "delivery.timeout.ms": "2000",
                                                                   "request.timeout.ms": "1000", "retry.backoff.ms": "50"]),
                                        logDirectory: dir)
            let value = [UInt8](repeating: 0x61, count: 2000)
            var acknowledged: [Int64] = []
            var failures: [ClientError] = []
            let start = monotonicNanos()
            await withTaskGroup(of: Result<RecordMetadata, ClientError>.self) { group in
                for _ in 0..<1500 {
                    group.addTask {
                        do throws(ClientError) { return .success(try await producer.send(ProducerRecord(topic: "t", key: nil, value: value))) } catch { return .failure(error) }
                    }
                }
                for await r in group {
                    switch r {
                    case .success(let md): acknowledged.append(md.offset)
                    case .failure(let e): failures.append(e)
                    }
                }
            }
            let elapsed = Duration.nanoseconds(Int64(monotonicNanos() - start))
            #expect(!failures.isEmpty, "2 MiB must fill up")
            #expect(failures.allSatisfy { $0.code != .deliveryTimeout && $0.logError?.code == .noSpace && $0.isRetriable }, "\(failures.first.map(\.description) ?? "")")
            // Every send ended (the old code hung here for minutes). A guard against a hang, not
            // a timing assertion: with the suite running in parallel on 2 cores the 1,500 sends
            // took 39–65 s in some runs.
            #expect(elapsed < .seconds(180))
            // Every acknowledged record is there.
            let log = try dir.partition("t", 0)
            #expect(Set(acknowledged).count == acknowledged.count)
            #expect(acknowledged.allSatisfy { $0 < log.highWatermark })
            // After freeing space, sends succeed again.
            _ = try log.deleteRecords(before: log.highWatermark)
            let md = try await producer.send(ProducerRecord(topic: "t", key: nil, value: value))
            #expect(md.offset == log.highWatermark - 1)
            await producer.close()
            try dir.close()
        }
        #expect(ran)
    }
}
