import Testing
@testable import WeirCompression

@Test func moduleLoads() {}
