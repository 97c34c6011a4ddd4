import Testing
@testable import WeirLog

/// Segment file names: the base offset zero-padded to 20 digits, as Kafka names them
/// (`LogFileUtils.filenamePrefixFromOffset`), built in one buffer by `_Segment._paddedOffset`.
@Suite struct LogSegmentFileNameTests {
    @Test(arguments: [
        (Int64(0), "00000000000000000000"),
        (Int64(7), "00000000000000000007"),
        (Int64(6272), "00000000000000006272"),
        (Int64(1_000_000_000_000), "00000001000000000000"),
        (Int64.max, "09223372036854775807"),
    ])
    func namesAreTwentyDigits(offset: Int64, digits: String) {
        #expect(_Segment.fileName(offset, ".log") == digits + ".log")
        let p = _Segment.paths("/data/t-0", offset)
        #expect(p.log == "/data/t-0/" + digits + ".log")
        #expect(p.index == "/data/t-0/" + digits + ".index")
        #expect(p.timeIndex == "/data/t-0/" + digits + ".timeindex")
    }

    @Test func aNegativeOffsetKeepsItsSign() {
        #expect(_Segment.fileName(-5, ".log") == "000000000000000000-5.log")
        #expect(_Segment.paths("d", -5).index == "d/000000000000000000-5.index")
    }

    @Test func aNonASCIIFolderIsKeptWhole() {
        #expect(_Segment.paths("/tmp/ø-0", 1).log == "/tmp/ø-0/00000000000000000001.log")
    }
}
