#if canImport(Glibc)
import Glibc
#endif
import CWeirSupport
import Dispatch
import Synchronization

/// The group commit across partitions: every partition's flush (`acks=all`, `flush.*`, a roll)
/// asks this process-wide object to `fdatasync` its active `.log`.
///
/// Each partition already shares one `fdatasync` among all its waiting appenders
/// (`_Durability`). With thousands of partitions under `acks=all` that still leaves one
/// `fdatasync` per partition per round — each a journal commit and a device cache flush — and as
/// many threads blocked in them. While fewer than `syncfsThreshold` syncs are in flight, a
/// request simply calls `fdatasync` (concurrent `fdatasync`s of a few files share journal
/// commits, and a `syncfs` would also write every other dirty file of the file system: measured,
/// it halved the 8-partition acks=all bench on a shared machine). From `syncfsThreshold` on, the
/// requests queue: the first becomes the leader, the ones queued behind it wait, and the next
/// leader takes all of them at once with one `syncfs` (one journal commit, one cache flush:
/// 8.4 ms for 512 dirty files against 98 ms of `fdatasync`s, measured). A failed `syncfs` falls
/// back to `fdatasync` per file, so each error is reported for the file it belongs to.
final class _GroupSync: Sendable {
    static let shared = _GroupSync()

    /// From this many syncs in flight on, requests are grouped into `syncfs` rounds.
    static let syncfsThreshold = 32
    /// The `fdatasync`s and grouped requests in flight.
    let inFlight = Atomic<Int>(0)

    enum _Outcome: Sendable { case done(LogError?), lead }

    final class _Request: Sendable {
        let file: _MappedFile
        let outcome = Mutex<_Outcome?>(nil)
        let wake = DispatchSemaphore(value: 0)
        init(_ file: _MappedFile) { self.file = file }
    }

    struct _State: ~Copyable {
        var queue: [_Request] = []
        var leading = false
        var rounds = 0
        var syncfsRounds = 0
    }

    let state = Mutex(_State())

    /// How many rounds ran, and how many of them were one `syncfs` (tests and benchmarks).
    var counts: (rounds: Int, syncfs: Int) { state._withLock { ($0.rounds, $0.syncfsRounds) } }

    /// Writes `file`'s dirty data to disk and waits: `fdatasync`, or a `syncfs` shared with the
    /// other partitions flushing at the same moment. Blocks the calling thread (the partition's
    /// flush queue).
    /// `threshold` is `syncfsThreshold` except in tests (0 groups every request).
    func fdatasync(_ file: _MappedFile, threshold: Int = _GroupSync.syncfsThreshold) throws(LogError) {
        let busy = inFlight.wrappingAdd(1, ordering: .relaxed).newValue
        defer { inFlight.wrappingSubtract(1, ordering: .relaxed) }
        if busy < threshold {
            try file.fdatasync()
            return
        }
        let request = _Request(file)
        let lead = state._withLock { s -> Bool in
            s.queue.append(request)
            if s.leading { return false }
            s.leading = true
            return true
        }
        if !lead {
            request.wake.wait()
            switch request.outcome._withLock({ $0 }) {
            case .done(let error)?:
                if let error { throw error }
                return
            case .lead?, nil:
                break
            }
        }
        _leadOneRound()
        if case .done(let error)? = request.outcome._withLock({ $0 }), let error { throw error }
    }

    /// Takes every queued request, syncs them, hands the lead to the first request queued since
    /// (or gives it up), and wakes the requests served.
    private func _leadOneRound() {
        let round = state._withLock { s -> [_Request] in
            let r = s.queue
            s.queue.removeAll(keepingCapacity: true)
            return r
        }
        let usedSyncfs = _sync(round)
        let next = state._withLock { s -> _Request? in
            s.rounds += 1
            if usedSyncfs { s.syncfsRounds += 1 }
            guard let first = s.queue.first else { s.leading = false; return nil }
            return first
        }
        if let next {
            next.outcome._withLock { $0 = .lead }
            next.wake.signal()
        }
        for r in round where r.outcome._withLock({ o -> Bool in
            if case .lead? = o { return false }
            return true
        }) {
            r.wake.signal()
        }
    }

    /// Syncs the files of one round and stores each request's outcome. Returns whether it was
    /// one `syncfs`.
    private func _sync(_ round: [_Request]) -> Bool {
        if round.count >= 2, let first = round.first {
            let ok = (try? first.file.withDescriptor { (fd) throws(LogError) -> Bool in
                _Sys.retrying { weir_syncfs(fd) } == 0
            }) ?? false
            if ok {
                for r in round { r.outcome._withLock { $0 = .done(nil) } }
                return true
            }
        }
        for r in round {
            var failure: LogError?
            do { try r.file.fdatasync() } catch { failure = error }
            r.outcome._withLock { $0 = .done(failure) }
        }
        return false
    }
}
