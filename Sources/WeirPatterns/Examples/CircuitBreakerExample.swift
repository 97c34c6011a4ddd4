import WeirClient

/// `weir example circuit-breaker`: a breaker opens after failures, fails fast, lets one probe
/// through when half-open, and closes again (time driven by hand so the run is instant).
let circuitBreakerExample = PatternExample(
    name: "circuit-breaker",
    summary: "CLOSED → OPEN → HALF_OPEN (one probe at a time) → CLOSED around a failing dependency"
) { _, _, output in
    struct Unavailable: Error, CustomStringConvertible { var description: String { "inventory service unavailable" } }
    let time = ManualMonotonicTime()
    let breaker = CircuitBreaker(name: "inventory",
                                 configuration: .init(failureThreshold: 3, openTimeout: .seconds(30), halfOpenMaxProbes: 1),
                                 time: time, onTransition: { from, to in output("  transition \(from.rawValue) → \(to.rawValue)") })
    var healthy = false
    func call(_ label: String) async {
        do {
            let r = try await breaker.execute { () throws(Unavailable) -> String in
                guard healthy else { throw Unavailable() }
                return "stock reserved"
            }
            output("\(label): \(r) [\(breaker.state.rawValue)]")
        } catch {
            switch error {
            case .open(let e): output("\(label): rejected fast: \(e.message) [\(breaker.state.rawValue)]")
            case .failure(let e): output("\(label): failed: \(e) [\(breaker.state.rawValue)]")
            }
        }
    }
    for i in 1...4 { await call("call \(i)") }
    time.advance(by: .seconds(31))
    output("31 s later the breaker is \(breaker.state.rawValue); one probe may go through")
    let probe = try breaker.acquire()
    do throws(CircuitOpenError) { _ = try breaker.acquire(); output("a second concurrent probe was let through (wrong)") } catch {
        output("a second concurrent probe is refused: \(error.message)")
    }
    healthy = true
    probe.success()
    await call("call 5")
}
