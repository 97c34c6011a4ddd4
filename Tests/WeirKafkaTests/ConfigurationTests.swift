import Foundation
import Testing
@testable import WeirKafka

@Suite("Configuration and bad configuration")
struct ConfigurationTests {
    @Test func propertiesFileWithEnvironmentExpansion() throws {
        let text = """
        # a comment
        ! another
        bootstrap.servers = 127.0.0.1:9092
        security.protocol: SASL_SSL
        sasl.mechanism=SCRAM-SHA-512
        sasl.username=${KAFKA_USER}
        sasl.password=pre-${KAFKA_SECRET}-post
        ssl.ca.location=/etc/ssl/\\
            ca.pem
        """
        let props = try KafkaConfiguration.parseProperties(text, environment: ["KAFKA_USER": "alice", "KAFKA_SECRET": "s3cr3t"])
        #expect(props["bootstrap.servers"] == "127.0.0.1:9092")
        #expect(props["security.protocol"] == "SASL_SSL")
        #expect(props["sasl.username"] == "alice")
        #expect(props["sasl.password"] == "pre-s3cr3t-post")
        #expect(props["ssl.ca.location"] == "/etc/ssl/ca.pem")
    }

    @Test func unsetVariableNamesPropertyAndLine() {
        #expect {
            try KafkaConfiguration.parseProperties("a=1\nsasl.password=${NOPE}", source: "client.properties", environment: [:])
        } throws: { error in
            let e = error as! KafkaError
            return e.property == "sasl.password" && e.message.contains("client.properties:2") && e.message.contains("NOPE")
        }
    }

    @Test func environmentProperties() {
        let props = KafkaConfiguration.environmentProperties(["WEIR_KAFKA_SASL_PASSWORD": "x", "WEIR_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "HOME": "/"])
        #expect(props == ["sasl.password": "x", "security.protocol": "SASL_SSL"])
    }

    @Test func mockBrokerCount() {
        #expect(KafkaConfiguration(["bootstrap.servers": "mock:3"]).mockBrokerCount == 3)
        #expect(KafkaConfiguration(["test.mock.num.brokers": "2"]).mockBrokerCount == 2)
        #expect(KafkaConfiguration(["bootstrap.servers": "127.0.0.1:9092"]).mockBrokerCount == nil)
    }

    @Test func unknownPropertyIsReportedByName() {
        #expect {
            _ = try KafkaProducer(configuration: KafkaConfiguration(["bootstrap.servers": "127.0.0.1:9", "no.such.property": "1"]))
        } throws: { error in
            let e = error as! KafkaError
            return e.isConfiguration && e.property == "no.such.property" && e.message.contains("no.such.property")
        }
    }

    @Test func invalidValueIsReportedByName() {
        #expect {
            try KafkaConfiguration(["compression.type": "brotli"]).validate()
        } throws: { error in
            let e = error as! KafkaError
            return e.property == "compression.type" && e.message.contains("brotli")
        }
    }

    @Test func badSASLMechanism() {
        #expect {
            try KafkaConfiguration(["bootstrap.servers": "127.0.0.1:9", "security.protocol": "SASL_PLAINTEXT",
                                    "sasl.mechanism": "NOT-A-MECHANISM", "sasl.username": "u", "sasl.password": "p"]).validate()
        } throws: { error in
            let e = error as! KafkaError
            print("bad SASL mechanism →", e)
            return e.isConfiguration && e.message.contains("NOT-A-MECHANISM") || e.property == "sasl.mechanism"
        }
    }

    @Test func goodConfigurationsValidate() throws {
        try KafkaConfiguration(["bootstrap.servers": "127.0.0.1:9", "security.protocol": "SASL_PLAINTEXT",
                                "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "u", "sasl.password": "p",
                                "acks": "all", "linger.ms": "5", "batch.size": "65536", "enable.idempotence": "true",
                                "compression.type": "zstd"]).validate()
        try KafkaConfiguration(["bootstrap.servers": "mock:3"]).validate()
    }

    /// A port on 127.0.0.1 that nothing listens on.
    static func closedPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    @Test func unreachableBootstrapServersFailWithinTheTimeout() async throws {
        let servers = "127.0.0.1:\(Self.closedPort())"
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(["bootstrap.servers": servers]))
        await #expect {
            _ = try await admin.metadata(timeout: .seconds(3))
        } throws: { error in
            let e = error as! KafkaError
            print("unreachable →", e)
            return e.code == KafkaError.transportCode || e.code == KafkaError.timedOutCode
        }
        let producer = try KafkaProducer(configuration: KafkaConfiguration(["bootstrap.servers": servers, "message.timeout.ms": "2000"]))
        await #expect {
            _ = try await producer.send(topic: "t", value: Array("x".utf8))
        } throws: { error in
            let e = error as! KafkaError
            return e.code == KafkaError.messageTimedOutCode && e.isRetriable
        }
        await producer.close(timeout: .seconds(1))
    }
}
