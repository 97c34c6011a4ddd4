import CWeirSupport
import Synchronization

extension Mutex where Value: ~Copyable {
    /// `withLock`, plus acquire/release annotations that ThreadSanitizer understands (as WeirLog
    /// does): on Linux a contended `Mutex` is handed over inside the kernel (a
    /// priority-inheritance futex), which TSan cannot see. Outside TSan builds the annotations
    /// are calls to weak no-op symbols.
    @inline(__always)
    borrowing func _withLock<R: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending R
    ) throws(E) -> sending R {
        let token = withUnsafePointer(to: self) { UnsafeMutableRawPointer(mutating: $0) }
        return try withLock { (value: inout sending Value) throws(E) -> sending R in
            weir_tsan_acquire(token)
            defer { weir_tsan_release(token) }
            return try body(&value)
        }
    }
}
