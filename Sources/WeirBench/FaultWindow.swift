/// What a fault window did: its latency while it lasted, and how long the step took to recover.
public struct FaultWindow: Sendable, Codable, Equatable {
    public var fault: String
    public var atSeconds: Double
    public var durationSeconds: Double
    /// The worst interval p99 and max (µs) of each latency kind in the seconds the window
    /// touches.
    public var p99Micros: [String: Double] = [:]
    public var maxMicros: [String: Double] = [:]
    /// Seconds from the window's end until the first second whose p99 (end-to-end, else
    /// publish) is back within 1.5× the p99 before the first fault (at least 1 ms); nil when it
    /// never came back within the step.
    public var recoverySeconds: Double?

    enum CodingKeys: String, CodingKey {
        case fault, atSeconds = "at_seconds", durationSeconds = "duration_seconds", p99Micros = "p99_us", maxMicros = "max_us"
        case recoverySeconds = "recovery_seconds"
    }
}
