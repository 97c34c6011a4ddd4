import Synchronization
import WeirLog

/// One object per open log directory (its group coordinator, its transaction coordinator, its
/// ACL authorizer): made on first use, and forgotten once the directory is gone.
final class _PerDirectory<Value: Sendable>: Sendable {
    final class _Weak: @unchecked Sendable {
        weak var value: LogDirectory?
        init(_ v: LogDirectory) { value = v }
    }

    private let entries = Mutex<[ObjectIdentifier: (weak: _Weak, value: Value)]>([:])

    init() {}

    /// The value of `directory`, made by `make` when it has none yet.
    func value<E: Error>(for directory: LogDirectory, make: () throws(E) -> Value) throws(E) -> Value {
        try entries._withLock { (r) throws(E) -> Value in
            r = r.filter { $0.value.weak.value != nil }
            if let e = r[ObjectIdentifier(directory)], e.weak.value === directory { return e.value }
            let v = try make()
            r[ObjectIdentifier(directory)] = (_Weak(directory), v)
            return v
        }
    }
}
