import Foundation
import Testing
import WeirKafka
@testable import WeirCLI

/// `weir example NAME --backend kafka …`: the options select and configure the Kafka backend the
/// same way `weir bench run` does.
@Suite struct ExampleKafkaCommandTests {
    @Test func mockClusterOption() throws {
        let command = try ExampleCommand.parse(["some-example", "--mock-cluster", "--config", "acks=all"])
        #expect(try command.useKafka())
        let client = try command.kafkaClient()
        #expect(client.mockCluster?.brokerCount == 3)
        #expect(client.configuration["acks"] == "all")
        #expect(client.configuration.bootstrapServers == client.mockCluster?.bootstrapServers)
    }

    @Test func propertiesFileAndBootstrapServers() throws {
        let path = NSTemporaryDirectory() + "weir-example-\(UUID().uuidString).properties"
        defer { try? FileManager.default.removeItem(atPath: path) }
        setenv("WEIR_TEST_EXAMPLE_LINGER", "7", 1)
        _ = FileManager.default.createFile(atPath: path, contents: Data("linger.ms=${WEIR_TEST_EXAMPLE_LINGER}\nacks=1\n".utf8))
        let command = try ExampleCommand.parse(["x", "--backend", "kafka", "--bootstrap-servers", "127.0.0.1:9",
                                                "--config-file", path, "--config", "acks=all"])
        let client = try command.kafkaClient()
        #expect(client.mockCluster == nil)
        #expect(client.configuration.bootstrapServers == "127.0.0.1:9")
        #expect(client.configuration["linger.ms"] == "7")
        // --config wins over the file.
        #expect(client.configuration["acks"] == "all")
    }

    @Test func embeddedByDefault() throws {
        #expect(try ExampleCommand.parse(["x"]).useKafka() == false)
        #expect(try ExampleCommand.parse(["x", "--backend", "embedded"]).useKafka() == false)
    }

    @Test(arguments: [
        ["x", "--backend", "kafka"],                                              // no cluster
        ["x", "--bootstrap-servers", "127.0.0.1:9", "--mock-cluster"],            // two clusters
        ["x", "--backend", "embedded", "--mock-cluster"],                         // contradiction
        ["x", "--backend", "embedded", "--config", "acks=all"],                   // kafka option on embedded
        ["x", "--backend", "nats"],                                               // unknown backend
        ["x", "--mock-cluster", "--config", "no.such.property=1"],                // librdkafka rejects it
        ["x", "--mock-cluster", "--config", "acks"],                              // not key=value
    ])
    func usageErrors(arguments: [String]) async throws {
        let command = try ExampleCommand.parse(arguments)
        #expect {
            _ = try command.useKafka() ? try command.kafkaClient() : nil
        } throws: { error in
            (error as? CLIError)?.exitCode == 2
        }
        #expect(await WeirCommand.run(arguments: ["example"] + arguments) == 2)
    }
}

/// Pattern examples over librdkafka's in-process mock cluster: the components run unchanged on
/// the Kafka backend through `KafkaMessaging`.
@Suite struct PatternExamplesOnKafkaTests {
    @Test(arguments: ["retry-dlq", "idempotent-consumer"])
    func exampleRunsOnTheMockCluster(name: String) async {
        #expect(await WeirCommand.run(arguments: ["example", name, "--mock-cluster"]) == 0)
    }
}
