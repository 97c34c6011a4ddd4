import Foundation
import Testing
@testable import WeirLog

/// `_Sys.listDirectory` reads each entry's name in place (up to its NUL), never the whole
/// 256-byte `d_name` field: `readdir` packs entries only as long as their names, and copying the
/// full field of the last entry in its buffer ran past the buffer (a SIGSEGV in a crash
/// campaign's recovery of a directory of about 1,400 segment files).
@Suite struct LogListDirectoryTests {
    @Test func namesOfEveryLengthAreListedWhole() throws {
        let tmp = TempDir(); defer { tmp.remove() }
        var expected: [String] = []
        for length in 1...255 {
            let name = String(repeating: "0", count: length - 1) + String(length % 10)
            #expect(FileManager.default.createFile(atPath: tmp.path + "/" + name, contents: nil))
            expected.append(name)
        }
        // Many short names too, so that entries end at many different places in readdir's buffer.
        for i in 0..<1_500 {
            let name = String(format: "%020d.log", i)
            #expect(FileManager.default.createFile(atPath: tmp.path + "/" + name, contents: nil))
            expected.append(name)
        }
        #expect(try _Sys.listDirectory(tmp.path) == expected.sorted())
    }
}
