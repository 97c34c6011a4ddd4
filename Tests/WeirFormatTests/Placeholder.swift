import Testing
@testable import WeirFormat

@Test func moduleLoads() {}
