import Foundation
import Synchronization
public import WeirClient
public import WeirFormat
import WeirLog

/// An event to append: its type and payload (and any extra headers).
public struct NewEvent: Sendable, Hashable {
    /// The event type, written to the `event.type` header (`OrderPlaced`).
    public var type: String
    /// The payload bytes (the record value).
    public var payload: [UInt8]
    /// Extra headers (a schema version, a trace context, …).
    public var headers: [RecordHeader]

    public init(type: String, payload: [UInt8], headers: [RecordHeader] = []) {
        self.type = type
        self.payload = payload
        self.headers = headers
    }

    /// An event whose payload is `value` as JSON.
    public static func json<T: Encodable>(_ type: String, _ value: T, headers: [RecordHeader] = []) throws(EventStoreError) -> NewEvent {
        do { return NewEvent(type: type, payload: Array(try JSONEncoder().encode(value)), headers: headers) } catch {
            throw EventStoreError(.codec, "cannot encode event '\(type)' as JSON: \(error).")
        }
    }
}

/// An event as stored: the aggregate, its version and where it lies in the log.
public struct EventRecord: Sendable, Hashable {
    public var aggregateId: String
    /// The aggregate's version after this event (1 for the first event).
    public var version: Int64
    public var type: String
    public var payload: [UInt8]
    /// All headers of the record (including `event.type` and `aggregate.version`).
    public var headers: [RecordHeader]
    public var partition: Int32
    public var offset: Int64
    /// `CreateTime`, ms since the epoch.
    public var timestamp: Int64

    /// The payload decoded from JSON.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws(EventStoreError) -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(payload)) } catch {
            throw EventStoreError(.codec, "event \(aggregateId)@\(version) (\(self.type)) is not a valid \(T.self): \(error).", aggregateId: aggregateId)
        }
    }
}

extension EventRecord {
    /// The event of a consumed record, nil when the record is not an event-store record (no
    /// key or no `aggregate.version` header).
    public init?(_ record: ConsumerRecord) {
        guard let key = record.key, let value = record.value,
              let v = record.headers.last(where: { $0.key == EventStore.versionHeader })?.value,
              let version = Int64(String(decoding: v, as: UTF8.self)) else { return nil }
        aggregateId = String(decoding: key, as: UTF8.self)
        self.version = version
        type = record.headers.last { $0.key == EventStore.typeHeader }.flatMap(\.value).map { String(decoding: $0, as: UTF8.self) } ?? ""
        payload = value
        headers = record.headers
        partition = record.partition
        offset = record.offset
        timestamp = record.timestamp
    }
}

/// The state of an aggregate rebuilt by a fold, and the version it reflects.
public struct AggregateState<State: Sendable>: Sendable {
    public var state: State
    /// The number of events folded into `state` (the expected version of the next append).
    public var version: Int64
    /// The snapshot version the fold started from (0 = from the first event).
    public var snapshotVersion: Int64
    /// The events read from the log to rebuild it.
    public var eventsRead: Int
}

/// What one read of an aggregate's events fetched from the log: `recordsFetched` counts every
/// record the reader polled, including neighbours that share a batch, so a test can check that a
/// replay reads O(events of the aggregate), not the topic.
public struct ReplayStatistics: Sendable, Hashable {
    public var eventsReturned = 0
    public var recordsFetched = 0
    public var seeks = 0
}
