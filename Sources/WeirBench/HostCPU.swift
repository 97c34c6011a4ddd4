import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Machine-wide CPU time that no process of this machine used, read from the aggregate `cpu`
/// line of `/proc/stat`: the times a bench reports beside its latencies so that a stall of the
/// machine is not read as a stall of Weir.
///
/// `steal` is the time this machine's virtual CPUs were ready to run while the hypervisor ran
/// something else. A VM whose host caps its CPU time (a cgroup quota over the vCPU threads and
/// the device emulation) is frozen whole when it exceeds the cap, for example while its disk
/// writes cost the host CPU; every thread stops for milliseconds, and that shows up here.
public struct HostCPUTimes: Sendable, Equatable {
    /// Time stolen by the hypervisor, summed over all CPUs, in nanoseconds.
    public var stealNanos: UInt64
    /// Time CPUs sat idle with disk I/O outstanding, summed over all CPUs, in nanoseconds.
    public var iowaitNanos: UInt64
    /// Time spent in hard and soft interrupt handlers, summed over all CPUs, in nanoseconds.
    public var interruptNanos: UInt64

    public init(stealNanos: UInt64 = 0, iowaitNanos: UInt64 = 0, interruptNanos: UInt64 = 0) {
        self.stealNanos = stealNanos
        self.iowaitNanos = iowaitNanos
        self.interruptNanos = interruptNanos
    }

    /// Parses the aggregate `cpu` line of `/proc/stat` text (columns: user nice system idle
    /// iowait irq softirq steal …, in clock ticks). Nil when the line is missing or malformed;
    /// an older kernel without the steal column reads as zero steal.
    public static func parse(procStat text: String, ticksPerSecond: Int) -> HostCPUTimes? {
        guard ticksPerSecond > 0 else { return nil }
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.first == "cpu" else { continue }
            let values = fields.dropFirst().map { UInt64($0) }
            guard values.count >= 4, values.allSatisfy({ $0 != nil }) else { return nil }
            func nanos(_ i: Int) -> UInt64 {
                guard i < values.count, let ticks = values[i] else { return 0 }
                return ticks &* (1_000_000_000 / UInt64(ticksPerSecond))
            }
            return HostCPUTimes(stealNanos: nanos(7), iowaitNanos: nanos(4), interruptNanos: nanos(5) &+ nanos(6))
        }
        return nil
    }

    /// The machine's times now; nil where `/proc/stat` cannot be read (not Linux).
    public static func current() -> HostCPUTimes? {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return parse(procStat: text, ticksPerSecond: Int(sysconf(Int32(_SC_CLK_TCK))))
        #else
        return nil
        #endif
    }

    /// The time between two readings (`later - earlier`), never negative.
    public func since(_ earlier: HostCPUTimes) -> HostCPUTimes {
        func d(_ a: UInt64, _ b: UInt64) -> UInt64 { a >= b ? a - b : 0 }
        return HostCPUTimes(
            stealNanos: d(stealNanos, earlier.stealNanos), iowaitNanos: d(iowaitNanos, earlier.iowaitNanos),
            interruptNanos: d(interruptNanos, earlier.interruptNanos))
    }
}
