import CRdKafka
import Synchronization

/// librdkafka's in-process mock cluster (`rd_kafka_mock_cluster_new`): N brokers listening on
/// 127.0.0.1, speaking enough of the Kafka protocol for producers, consumers in groups and
/// commits. No external broker is needed; tests and `--bootstrap-servers mock:N` use it.
///
/// Clients connect with `bootstrapServers`. Topics are auto-created on first use with the mock's
/// defaults, or explicitly with `createTopic`. Errors can be injected with `failNextRequests`.
///
/// `@unchecked Sendable`: the mock cluster's API is thread-safe (it posts operations to the
/// cluster's own thread); the handles are immutable after init.
public final class KafkaMockCluster: @unchecked Sendable {
    let client: _Client
    let cluster: OpaquePointer
    /// `bootstrap.servers` for clients of this cluster (`rd_kafka_mock_cluster_bootstraps`).
    public let bootstrapServers: String
    public let brokerCount: Int

    /// Kafka protocol API keys for `failNextRequests`.
    public enum APIKey: Int16, Sendable {
        case produce = 0, fetch = 1, listOffsets = 2, metadata = 3, offsetCommit = 8, offsetFetch = 9
        case findCoordinator = 10, joinGroup = 11, heartbeat = 12, syncGroup = 14, initProducerID = 22
    }

    /// Consumer properties that keep a consumer of the mock cluster fetching promptly, applied
    /// unless set: the mock broker holds a Fetch for the whole `fetch.wait.max.ms` when a
    /// consumer has caught up, even when records arrive meanwhile (a real broker answers at once),
    /// and stalls a consumer whose fetch position falls inside a batch that a size-limited
    /// response cut, so short waits and fetch limits above any batch keep it consuming.
    public static let consumerDefaults: [String: String] = [
        "fetch.wait.max.ms": "10", "max.partition.fetch.bytes": "52428800", "fetch.max.bytes": "104857600",
    ]

    /// Client properties for the mock cluster, applied unless set: responses as large as
    /// `consumerDefaults` allows.
    public static let clientDefaults: [String: String] = ["receive.message.max.bytes": "105000000"]

    /// Starts a cluster of `brokers` brokers (ids 1…brokers).
    public init(brokers: Int = 3) throws(KafkaError) {
        precondition(brokers > 0, "a mock cluster needs at least one broker")
        client = try _Client(kind: .producer, properties: ["log_level": "3"], state: _ClientState())
        guard let c = rd_kafka_mock_cluster_new(client.handle, Int32(brokers)) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__FAIL, context: "cannot start the mock cluster")
        }
        cluster = c
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(c))
        brokerCount = brokers
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// Creates `topic` (`rd_kafka_mock_topic_create`).
    public func createTopic(_ topic: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster, topic, Int32(partitions), Int32(replicationFactor))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context: "mock: create topic '\(topic)'") }
    }

    /// Makes the next `errors.count` requests of `api` fail with these codes, in order
    /// (`rd_kafka_mock_push_request_errors_array`). `KafkaError.transportCode` disconnects.
    public func failNextRequests(_ api: APIKey, errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        codes.withUnsafeBufferPointer { rd_kafka_mock_push_request_errors_array(cluster, api.rawValue, $0.count, $0.baseAddress) }
    }

    /// Makes every produce to `topic` fail with `code` until cleared with
    /// `setTopicError(_:code: 0)` (`rd_kafka_mock_topic_set_error`).
    public func setTopicError(_ topic: String, code: Int32) {
        rd_kafka_mock_topic_set_error(cluster, topic, rd_kafka_resp_err_t(rawValue: code))
    }

    /// Takes broker `id` down or brings it up (`rd_kafka_mock_broker_set_down`/`_up`).
    public func setBroker(_ id: Int32, up: Bool) {
        _ = up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id)
    }
}
