/// A consumer's place in its group at one moment: the member id and generation of its last
/// completed join (Kafka's `ConsumerGroupMetadata`), and whether it is joining again.
///
/// The bench waits for every member of a group to share one generation with no rebalance under
/// way before it starts a step, so that no member is left waiting in a join for the rebalance
/// timeout (`max.poll.interval.ms`) after the others stopped polling.
public struct GroupMembership: Sendable, Equatable {
    /// The member id the coordinator gave; empty before the first join completes.
    public var memberId: String
    /// The generation of the last completed join; -1 before the first.
    public var generation: Int32
    /// True while a join is in progress or the member has been asked to rejoin.
    public var rebalancing: Bool

    public init(memberId: String, generation: Int32, rebalancing: Bool) {
        self.memberId = memberId
        self.generation = generation
        self.rebalancing = rebalancing
    }

    /// Whether the member has completed a join and is not rebalancing.
    public var isStable: Bool { !memberId.isEmpty && generation >= 0 && !rebalancing }
}
