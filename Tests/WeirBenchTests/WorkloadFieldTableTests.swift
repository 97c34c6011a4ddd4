import Testing

@testable import WeirBench

/// `Workload.fields` is the one declaration of every workload field: what `weir bench list
/// --fields` prints is what `set` accepts and what reads back.
@Suite struct WorkloadFieldTableTests {
    @Test func everyListedFieldSetsFromTextAndReadsBack() throws {
        #expect(Set(Workload.fields.map(\.name)).count == Workload.fields.count, "a field is declared twice")
        for f in Workload.fields {
            var w = Workload()
            var key = f.name, value = f.example
            if f.prefix != nil {
                let kv = f.example.split(separator: "=", maxSplits: 1).map(String.init)
                try #require(kv.count == 2, "\(f.name): example \(f.example) is not KEY=VALUE")
                (key, value) = (kv[0], kv[1])
            }
            try w.set(key, value)
            let back = try #require(f.value(in: w), "\(f.name): \(f.example) did not read back")
            if f.range != nil {
                #expect(Double(back) == Double(value), "\(f.name): set \(value), read \(back)")
            } else {
                #expect(back == f.example, "\(f.name): set \(f.example), read \(back)")
            }
        }
    }

    @Test func aBadValueNamesTheFieldAndWhatItAccepts() {
        // Free-text fields (and `faults`, where "" is the empty list) accept "".
        let freeText: Set = ["name", "logDir", "driverClass", "payloadFile", "faults"]
        for f in Workload.fields where f.prefix == nil && !freeText.contains(f.name) {
            var w = Workload()
            #expect { try w.set(f.name, "") } throws: {
                ($0 as? BenchError)?.message.contains(f.name) == true
            }
        }
    }
}
