/// The consumer's, the group coordinator's and the offsets store's error: the same type as the
/// producer's and admin's `ClientError` (one set of codes, one mapping of log errors). Kept as a
/// name so that code written against it compiles; new code uses `ClientError`.
public typealias ConsumerError = ClientError
