import Foundation
import Testing
import WeirClient
import WeirLog
@testable import WeirCLI

@Suite(.serialized) struct ACLsCommandTests {
    @Test func addListRemoveAndEnforcement() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weircli-acls-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await WeirCommand.run(arguments: ["topics", "create", "order.payment.completed", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["acls", "add", "--allow-principal", "User:alice", "--operation", "write", "--operation", "describe",
                                                  "--topic", "order.", "--resource-pattern-type", "prefixed", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["acls", "list", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["acls", "list", "--topic", "order.payment.completed", "--json", "--log-dir", dir]) == 0)
        do {
            let log = try LogDirectory.open(path: dir)
            defer { try? log.close() }
            let acls = try ACLAuthorizer.shared(for: log).acls
            #expect(acls.count == 2 && acls.allSatisfy { $0.patternType == .prefixed && $0.principal == KafkaPrincipal(name: "alice") })
        }
        // Enforced for the CLI's own clients: anonymous is now denied, alice allowed.
        let input = dir + "/in.txt"
        try "hello\n".write(toFile: input, atomically: true, encoding: .utf8)
        #expect(await WeirCommand.run(arguments: ["produce", "order.payment.completed", "--input", input, "--log-dir", dir]) == 1)
        #expect(await WeirCommand.run(arguments: ["produce", "order.payment.completed", "--input", input, "--config", "sasl.username=alice", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["topics", "describe", "order.payment.completed", "--log-dir", dir]) == 1)
        #expect(await WeirCommand.run(arguments: ["topics", "describe", "order.payment.completed", "--user", "alice", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["topics", "create", "order.refund.issued", "--user", "alice", "--log-dir", dir]) == 1)
        #expect(await WeirCommand.run(arguments: ["acls", "add", "--allow-principal", "User:alice", "--operation", "create", "--cluster", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["topics", "create", "order.refund.issued", "--user", "alice", "--log-dir", dir]) == 0)
        // A deny wins.
        #expect(await WeirCommand.run(arguments: ["acls", "add", "--deny-principal", "User:alice", "--operation", "describe",
                                                  "--topic", "order.payment.completed", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["topics", "describe", "order.payment.completed", "--user", "alice", "--log-dir", dir]) == 1)
        #expect(await WeirCommand.run(arguments: ["acls", "remove", "--deny-principal", "User:alice", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["topics", "describe", "order.payment.completed", "--user", "alice", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["acls", "remove", "--deny-principal", "User:alice", "--log-dir", dir]) == 1)   // nothing matched
        #expect(await WeirCommand.run(arguments: ["acls", "super-users", "--set", "User:admin", "--log-dir", dir]) == 0)
        #expect(await WeirCommand.run(arguments: ["topics", "delete", "order.refund.issued", "--user", "admin", "--log-dir", dir]) == 0)
    }

    @Test func usageErrors() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weircli-acls-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(await WeirCommand.run(arguments: ["acls", "add", "--operation", "read", "--topic", "t", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["acls", "add", "--allow-principal", "alice", "--operation", "read", "--topic", "t", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["acls", "add", "--allow-principal", "User:alice", "--operation", "fly", "--topic", "t", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["acls", "add", "--allow-principal", "User:alice", "--operation", "read", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["acls", "add", "--allow-principal", "User:alice", "--operation", "write", "--group", "g", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["acls", "add", "--allow-principal", "User:alice", "--operation", "read", "--topic", "t",
                                                  "--group", "g", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["acls", "add", "--allow-principal", "User:alice", "--operation", "read", "--topic", "t",
                                                  "--resource-pattern-type", "regex", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["acls", "remove", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["topics", "create", "Orders", "--naming-convention", "--log-dir", dir]) == 2)
        #expect(await WeirCommand.run(arguments: ["topics", "create", "order.payment.completed", "--naming-convention", "--log-dir", dir]) == 0)
    }
}
