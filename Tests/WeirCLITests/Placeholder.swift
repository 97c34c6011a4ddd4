import Testing
@testable import WeirCLI

@Test func moduleLoads() {}
