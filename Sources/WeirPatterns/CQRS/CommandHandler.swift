import WeirClient

/// A command the domain refused (validation failed, the aggregate's state forbids it). Not
/// retriable: the same command against the same state is refused again.
public struct CommandRejected: ClassifiedError, Sendable, Equatable, CustomStringConvertible {
    /// Why, in words a caller can show.
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var isRetriable: Bool { false }
    public var description: String { "command rejected: \(reason)" }
}

/// A command that was not carried out.
public struct CommandError: ClassifiedError, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// `decide` refused the command (`reason` says why).
        case rejected
        /// Concurrent appends kept winning for `maxConflictRetries` attempts.
        case conflict
        /// The event store failed (see `storeError`).
        case store
    }

    public var code: Code
    public var message: String
    public var storeError: EventStoreError?

    public init(_ code: Code, _ message: String, storeError: EventStoreError? = nil) {
        self.code = code
        self.message = message
        self.storeError = storeError
    }

    /// A rejection is final; a conflict may pass on a later try; a store error as the store says.
    public var isRetriable: Bool {
        switch code {
        case .rejected: false
        case .conflict: true
        case .store: storeError?.isRetriable ?? false
        }
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// The command side of CQRS on an `EventStore`: rebuild the aggregate (from its latest snapshot
/// and the events after it), let `decide` validate the command against the state and return
/// the events it causes, and append them with the version the decision was made on. When
/// another writer got there first (`.concurrencyConflict`), the handler reloads and decides
/// again, up to `maxConflictRetries` times.
///
/// `decide` throws `CommandRejected` (or any error) to refuse a command; nothing is appended.
public struct CommandHandler<State: Codable & Sendable, Command: Sendable>: Sendable {
    public typealias Evolve = @Sendable (State, EventRecord) throws -> State
    public typealias Decide = @Sendable (State, Command) throws -> [NewEvent]

    public let store: EventStore
    public let initial: State
    public let evolve: Evolve
    public let decide: Decide
    /// Attempts after a lost race before giving up with `.conflict` (default 3).
    public var maxConflictRetries = 3
    /// Save a snapshot when the aggregate's version crosses a multiple of this (nil = never).
    public var snapshotEvery: Int64?

    public init(store: EventStore, initial: State, evolve: @escaping Evolve, decide: @escaping Decide) {
        self.store = store
        self.initial = initial
        self.evolve = evolve
        self.decide = decide
    }

    /// Handles `command` for the aggregate `aggregateId`; returns the appended events (empty
    /// when `decide` returned none).
    @discardableResult
    public func handle(_ command: Command, aggregateId: String) async throws(CommandError) -> [EventRecord] {
        var attempt = 0
        while true {
            let current: AggregateState<State>
            do { current = try await store.rebuildAggregate(aggregateId, initial: initial, useSnapshot: snapshotEvery != nil, evolve) } catch {
                throw CommandError(.store, "loading '\(aggregateId)' failed: \(error.message)", storeError: error)
            }
            let events: [NewEvent]
            do { events = try decide(current.state, command) } catch {
                let reason = (error as? CommandRejected)?.reason ?? "\(error)"
                throw CommandError(.rejected, "'\(aggregateId)': \(reason)")
            }
            if events.isEmpty { return [] }
            do {
                let stored = try await store.append(events, to: aggregateId, expectedVersion: current.version)
                if let every = snapshotEvery, every > 0, let last = stored.last, last.version / every > current.version / every {
                    var state = current.state
                    do { for e in stored { state = try evolve(state, e) } } catch { return stored }
                    // A failed snapshot costs only replay time later.
                    try? await store.saveSnapshot(of: aggregateId, AggregateState(state: state, version: last.version, snapshotVersion: current.snapshotVersion, eventsRead: 0))
                }
                return stored
            } catch where error.code == .concurrencyConflict {
                attempt += 1
                if attempt > maxConflictRetries {
                    throw CommandError(.conflict, "'\(aggregateId)': \(attempt) attempts lost to concurrent writers (\(error.message)); retry later or route the aggregate's commands to one writer.", storeError: error)
                }
            } catch {
                throw CommandError(.store, "appending to '\(aggregateId)' failed: \(error.message)", storeError: error)
            }
        }
    }
}
