import Testing
@testable import WeirLog

@Test func moduleLoads() {}
