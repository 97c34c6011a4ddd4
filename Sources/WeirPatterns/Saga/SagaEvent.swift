import Foundation

/// One event of a saga's life, as written to the saga events topic (`<name>.saga.events`),
/// keyed by saga id, JSON-encoded, with the header `saga-event-type`.
///
/// The events are the saga's state: an orchestrator that restarts folds them to find where each
/// unfinished saga stopped.
public struct SagaEvent: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable, Hashable, CaseIterable {
        case sagaStarted = "SagaStarted"
        /// Step `step` succeeded; `context` is the context after it.
        case stepCompleted = "StepCompleted"
        /// Step `step` failed for `reason`; compensation starts with the step before it.
        case stepFailed = "StepFailed"
        /// Step `step` was compensated.
        case compensationCompleted = "CompensationCompleted"
        /// Every step succeeded.
        case sagaCompleted = "SagaCompleted"
        /// Every completed step was compensated; `reason` is the failure that caused it.
        case sagaCompensated = "SagaCompensated"
        /// A compensation kept failing: the saga needs an operator; `reason` says which.
        case sagaFailed = "SagaFailed"

        /// Whether the saga ended with this event.
        public var isTerminal: Bool { self == .sagaCompleted || self == .sagaCompensated || self == .sagaFailed }
    }

    /// The header that carries `type` (so readers can filter without decoding).
    public static let typeHeader = "saga-event-type"

    public var type: Kind
    public var sagaId: String
    /// The saga definition's name.
    public var saga: String
    /// The step index (steps and compensations).
    public var step: Int?
    public var stepName: String?
    /// The context as JSON (after the step, for `stepCompleted`; the current one otherwise).
    public var context: String?
    /// Why a step failed, or why the saga was compensated or failed.
    public var reason: String?
    /// Milliseconds since the epoch (now when not given).
    public var timestamp: Int64

    public init(type: Kind, sagaId: String, saga: String, step: Int? = nil, stepName: String? = nil, context: String? = nil,
                reason: String? = nil, timestamp: Int64? = nil) {
        self.type = type
        self.sagaId = sagaId
        self.saga = saga
        self.step = step
        self.stepName = stepName
        self.context = context
        self.reason = reason
        self.timestamp = timestamp ?? Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }

    /// The event's JSON (the record value).
    public func encoded() -> [UInt8] {
        (try? Array(SagaEvent._encoder.encode(self))) ?? []
    }

    /// Decodes a record value; nil when it is not a saga event.
    public static func decode(_ bytes: [UInt8]) -> SagaEvent? {
        try? JSONDecoder().decode(SagaEvent.self, from: Data(bytes))
    }

    /// The context of this event decoded as `C`.
    public func decodedContext<C: Decodable>(as type: C.Type) -> C? {
        guard let context else { return nil }
        return try? JSONDecoder().decode(C.self, from: Data(context.utf8))
    }

    static var _encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

/// Where a saga stands, folded from its events.
public enum SagaState: Sendable, Hashable {
    /// Running: `nextStep` is the step to run (re-run after a crash), `context` the JSON context.
    case running(nextStep: Int, context: String)
    /// Compensating: `nextStep` is the next step to compensate (down to 0).
    case compensating(nextStep: Int, context: String, reason: String)
    case completed(context: String)
    case compensated(reason: String)
    case failed(reason: String)

    /// Applies one event; `nil` state before `sagaStarted`.
    public static func fold(_ state: SagaState?, _ e: SagaEvent) -> SagaState? {
        switch e.type {
        case .sagaStarted: return .running(nextStep: 0, context: e.context ?? "{}")
        case .stepCompleted: return .running(nextStep: (e.step ?? 0) + 1, context: e.context ?? state?.context ?? "{}")
        case .stepFailed: return .compensating(nextStep: (e.step ?? 0) - 1, context: e.context ?? state?.context ?? "{}", reason: e.reason ?? "step failed")
        case .compensationCompleted:
            let reason = if case .compensating(_, _, let r) = state { r } else { e.reason ?? "" }
            return .compensating(nextStep: (e.step ?? 0) - 1, context: e.context ?? state?.context ?? "{}", reason: reason)
        case .sagaCompleted: return .completed(context: e.context ?? state?.context ?? "{}")
        case .sagaCompensated: return .compensated(reason: e.reason ?? "")
        case .sagaFailed: return .failed(reason: e.reason ?? "")
        }
    }

    var context: String? {
        switch self {
        case .running(_, let c), .compensating(_, let c, _), .completed(let c): c
        default: nil
        }
    }

    /// Whether the saga is over.
    public var isTerminal: Bool {
        switch self {
        case .running, .compensating: false
        default: true
        }
    }
}
