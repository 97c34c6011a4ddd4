import Testing
import WeirLog
@testable import WeirClient

/// One error type for every client API: the consumer's codes and the producer's live in
/// `ClientError.Code`, with one mapping of log errors.
@Suite struct ClientErrorTests {
    @Test func consumerErrorIsClientError() {
        #expect(ClientError.self == ClientError.self)
        // Kafka's names for the same codes.
        #expect(ClientError.Code.illegalState == .invalidState)
        #expect(ClientError.Code.consumerClosed == .closed)
        #expect(ClientError.Code.producerClosed != .closed)
    }

    @Test func logErrorsMapToOneSetOfCodes() {
        let cases: [(LogError.Code, ClientError.Code)] = [
            (.invalidConfig, .invalidConfig), (.invalidTopic, .invalidTopic), (.topicAlreadyExists, .topicAlreadyExists),
            (.unknownTopicOrPartition, .unknownTopicOrPartition), (.recordBatchTooLarge, .recordTooLarge),
            (.offsetOutOfRange, .noOffset), (.corruptRecord, .corruptRecord), (.closed, .closed), (.cancelled, .cancelled),
            (.io, .log), (.noSpace, .log), (.corruptState, .log),
        ]
        for (log, client) in cases {
            let e = ClientError(LogError(log, "m", isRetriable: log == .io))
            #expect(e.code == client, "\(log)")
            #expect(e.logError?.code == log && e.message == "m" && e.isRetriable == (log == .io))
        }
    }
}
