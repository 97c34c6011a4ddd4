public import WeirLog
public import WeirClient
internal import NIOCore
internal import Synchronization
internal import Foundation

/// What the broker knows about the request it answers.
public struct RequestContext: Sendable {
    public var apiKey: ApiKey
    public var apiVersion: Int16
    public var correlationId: Int32
    public var clientId: String?
    /// The authenticated principal (`User:ANONYMOUS` without SASL).
    public var principal: KafkaPrincipal
    /// Whether the response may carry file slices (plaintext connections).
    public var zeroCopy: Bool
}

/// The single-node broker: decodes a request body, answers it from the log directory and
/// WeirClient's group coordinator, offsets store and admin, and encodes the response body.
///
/// It owns no state of its own beyond what the wire protocol needs on top of the coordinator
/// (each member's subscription bytes, handed back to the group leader in JoinGroup).
public final class KafkaBroker: Sendable {
    public let directory: LogDirectory
    public let coordinator: GroupCoordinator
    let configuration: Mutex<BrokerConfiguration>
    /// group id → member id → the member's JoinGroup protocol metadata.
    let memberMetadata = Mutex<[String: [String: [UInt8]]]>([:])
    /// The directory's ACLs (`weir acls`); nil when they cannot be read (then nothing is denied).
    let authorizer: ACLAuthorizer?

    public init(directory: LogDirectory, configuration: BrokerConfiguration) {
        self.directory = directory
        self.coordinator = GroupCoordinator.shared(for: directory)
        self.configuration = Mutex(configuration)
        self.authorizer = try? ACLAuthorizer.shared(for: directory)
    }

    /// Whether `ctx.principal` may do `operation` on the resource (Kafka's authorizer check).
    func allowed(_ ctx: RequestContext, _ operation: ACLOperation, _ type: ACLResourceType, _ name: String) -> Bool {
        authorizer?.isAuthorized(ctx.principal, operation, type, name) ?? true
    }

    public var config: BrokerConfiguration { configuration.withLock { $0 } }

    /// Sets the port clients are told to use (after binding port 0).
    public func setAdvertised(host: String?, port: Int32) {
        configuration.withLock { c in
            if let host { c.advertisedHost = host }
            c.advertisedPort = port
        }
    }

    var admin: Admin { Admin(logDirectory: directory) }

    /// The versions `weir serve` advertises in ApiVersions, per API.
    public static let supportedVersions: [ApiKey: ClosedRange<Int16>] = [
        .produce: 0...11, .fetch: 0...12, .listOffsets: 0...8, .metadata: 0...12,
        .offsetCommit: 0...9, .offsetFetch: 0...9, .findCoordinator: 0...5,
        .joinGroup: 0...9, .heartbeat: 0...4, .leaveGroup: 0...5, .syncGroup: 0...5,
        .describeGroups: 0...5, .listGroups: 0...4, .apiVersions: 0...4,
        .createTopics: 0...7, .deleteTopics: 0...6, .deleteRecords: 0...2,
        .describeConfigs: 0...4, .alterConfigs: 0...2, .incrementalAlterConfigs: 0...1,
        .createPartitions: 0...3, .deleteGroups: 0...2, .describeCluster: 0...1,
        .offsetForLeaderEpoch: 0...4, .initProducerId: 0...5, .addPartitionsToTxn: 0...3,
        .addOffsetsToTxn: 0...4, .endTxn: 0...4, .txnOffsetCommit: 0...4,
        .saslHandshake: 0...1, .saslAuthenticate: 0...2,
    ]

    /// Answers one request; nil when no response is sent (Produce with acks=0).
    public func handle(_ ctx: RequestContext, _ r: inout KafkaReader) async throws(KafkaProtocolError) -> KafkaWriter? {
        let v = ctx.apiVersion
        var w = KafkaWriter()
        switch ctx.apiKey {
        case .apiVersions:
            apiVersions(ApiVersionsRequest(), version: v).write(to: &w, version: v)
        case .metadata:
            metadata(try MetadataRequest(from: &r, version: v), version: v).write(to: &w, version: v)
        case .produce:
            let req = try ProduceRequest(from: &r, version: v)
            let resp = await produce(req, ctx)
            if req.acks == 0 { return nil }
            resp.write(to: &w, version: v)
        case .fetch:
            await fetch(try FetchRequest(from: &r, version: v), ctx).write(to: &w, version: v)
        case .listOffsets:
            listOffsets(try ListOffsetsRequest(from: &r, version: v), version: v).write(to: &w, version: v)
        case .findCoordinator:
            findCoordinator(try FindCoordinatorRequest(from: &r, version: v), version: v).write(to: &w, version: v)
        case .joinGroup:
            await joinGroup(try JoinGroupRequest(from: &r, version: v), ctx).write(to: &w, version: v)
        case .syncGroup:
            syncGroup(try SyncGroupRequest(from: &r, version: v)).write(to: &w, version: v)
        case .heartbeat:
            heartbeat(try HeartbeatRequest(from: &r, version: v)).write(to: &w, version: v)
        case .leaveGroup:
            leaveGroup(try LeaveGroupRequest(from: &r, version: v), version: v).write(to: &w, version: v)
        case .offsetCommit:
            let req = try OffsetCommitRequest(from: &r, version: v)
            offsetCommit(req, denied: !allowed(ctx, .read, .group, req.groupId)).write(to: &w, version: v)
        case .offsetFetch:
            offsetFetch(try OffsetFetchRequest(from: &r, version: v), version: v).write(to: &w, version: v)
        case .createTopics:
            createTopics(try CreateTopicsRequest(from: &r, version: v), ctx).write(to: &w, version: v)
        case .deleteTopics:
            deleteTopics(try DeleteTopicsRequest(from: &r, version: v), version: v).write(to: &w, version: v)
        default:
            _ = try await handleMore(ctx, &r, &w)
        }
        return w
    }

    /// APIs answered in the broker's other files; nil when `w` holds the response.
    func handleMore(_ ctx: RequestContext, _ r: inout KafkaReader, _ w: inout KafkaWriter) async throws(KafkaProtocolError) -> KafkaWriter? {
        let v = ctx.apiVersion
        switch ctx.apiKey {
        case .listGroups: listGroups(try ListGroupsRequest(from: &r, version: v)).write(to: &w, version: v)
        case .describeGroups: describeGroups(try DescribeGroupsRequest(from: &r, version: v)).write(to: &w, version: v)
        case .deleteGroups: deleteGroups(try DeleteGroupsRequest(from: &r, version: v)).write(to: &w, version: v)
        case .describeConfigs: describeConfigs(try DescribeConfigsRequest(from: &r, version: v)).write(to: &w, version: v)
        case .alterConfigs: alterConfigs(try AlterConfigsRequest(from: &r, version: v)).write(to: &w, version: v)
        case .incrementalAlterConfigs:
            incrementalAlterConfigs(try IncrementalAlterConfigsRequest(from: &r, version: v)).write(to: &w, version: v)
        case .deleteRecords: deleteRecords(try DeleteRecordsRequest(from: &r, version: v)).write(to: &w, version: v)
        case .offsetForLeaderEpoch: offsetForLeaderEpoch(try OffsetForLeaderEpochRequest(from: &r, version: v)).write(to: &w, version: v)
        case .describeCluster: describeCluster(try DescribeClusterRequest(from: &r, version: v)).write(to: &w, version: v)
        case .createPartitions: createPartitions(try CreatePartitionsRequest(from: &r, version: v)).write(to: &w, version: v)
        case .initProducerId: await initProducerId(try InitProducerIdRequest(from: &r, version: v)).write(to: &w, version: v)
        case .addPartitionsToTxn:
            addPartitionsToTxn(try AddPartitionsToTxnRequest(from: &r, version: v), version: v).write(to: &w, version: v)
        case .addOffsetsToTxn: addOffsetsToTxn(try AddOffsetsToTxnRequest(from: &r, version: v)).write(to: &w, version: v)
        case .txnOffsetCommit: await txnOffsetCommit(try TxnOffsetCommitRequest(from: &r, version: v)).write(to: &w, version: v)
        case .endTxn: await endTxn(try EndTxnRequest(from: &r, version: v)).write(to: &w, version: v)
        default:
            throw KafkaProtocolError("API \(ctx.apiKey) v\(v) is not served by weir serve.")
        }
        return nil
    }

    // MARK: - ApiVersions

    func apiVersions(_ req: ApiVersionsRequest, version: Int16) -> ApiVersionsResponse {
        var resp = ApiVersionsResponse()
        resp.apiKeys = Self.supportedVersions.sorted { $0.key.rawValue < $1.key.rawValue }.map { k, range in
            var a = ApiVersionsResponse.ApiVersion()
            a.apiKey = k.rawValue
            a.minVersion = range.lowerBound
            a.maxVersion = range.upperBound
            return a
        }
        return resp
    }

    // MARK: - Helpers

    /// A stable topic id derived from the name (the embedded log keeps none).
    static func topicId(_ name: String) -> KafkaUUID {
        var h1: UInt64 = 0xcbf2_9ce4_8422_2325, h2: UInt64 = 0x8422_2325_cbf2_9ce4
        for b in name.utf8 {
            h1 = (h1 ^ UInt64(b)) &* 0x100_0000_01b3
            h2 = (h2 &+ UInt64(b)) &* 0x9e37_79b9_7f4a_7c15
        }
        return KafkaUUID(high: h1 | 1, low: h2)
    }

    /// The partition log, auto-creating the topic when allowed.
    func partition(_ topic: String, _ p: Int32, autoCreate: Bool) -> Result<PartitionLog, KafkaErrorCode> {
        do throws(LogError) {
            return .success(try directory.partition(topic, p))
        } catch {
            if error.code == .unknownTopicOrPartition, autoCreate, ensureTopic(topic) {
                if let l = try? directory.partition(topic, p) { return .success(l) }
            }
            return .failure(KafkaErrorCode(error))
        }
    }

    /// Creates `topic` with `num.partitions` when `auto.create.topics.enable` is on and it is missing.
    @discardableResult
    func ensureTopic(_ topic: String) -> Bool {
        if directory.topicNames.contains(topic) { return true }
        let c = config
        guard c.autoCreateTopics, !InternalTopics.isInternal(topic) else { return false }
        do {
            try admin.createTopic(topic, partitions: c.numPartitions)
        } catch {
            return directory.topicNames.contains(topic)
        }
        return true
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
