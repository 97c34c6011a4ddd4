// The Kafka wire protocol (generated request and response codecs, the reader and writer, the
// frame decoder) lives in WeirKafkaProtocol, which needs only NIOCore, so that the protocol's
// fuzz target builds without the server's NIOPosix, NIOSSL and swift-crypto. Re-exported: every
// file of WeirServer, and every client of it, sees the protocol types as before.
@_exported import WeirKafkaProtocol

// WeirClient has types of these names too; inside WeirServer they mean the wire messages.
typealias JoinGroupRequest = WeirKafkaProtocol.JoinGroupRequest
typealias JoinGroupResponse = WeirKafkaProtocol.JoinGroupResponse
