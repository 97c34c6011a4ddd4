import Testing
@testable import WeirBench
import WeirRandom

@Suite struct PayloadTests {
    @Test func jsonLikeIsDeterministicAndExactSize() {
        var a = PayloadGenerator(seed: 7)
        var b = PayloadGenerator(seed: 7)
        let x = a.jsonLike(100_000)
        #expect(x.count == 100_000)
        #expect(x == b.jsonLike(100_000))
        #expect(x.first == UInt8(ascii: "{"))
    }

    @Test func randomBytesHaveTheRequestedLength() {
        var g = PayloadGenerator()
        #expect(g.randomBytes(0).isEmpty)
        #expect(g.randomBytes(13).count == 13)
        #expect(Set(g.randomBytes(4096)).count > 200)
    }

    @Test func jsonRecordReachesTargetSize() {
        var g = PayloadGenerator()
        let r = g.jsonRecord(targetSize: 1024)
        #expect(r.utf8.count >= 1024)
        #expect(r.hasSuffix("}"))
    }
}
