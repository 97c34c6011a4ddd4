import Testing

@testable import WeirBench
import WeirClientAPI

/// `Workload.table` is the one declaration of every workload field, in the same property table
/// as the producer's, consumer's and topic's settings: what `weir bench list --fields` prints is
/// what `set` accepts, what reads back, and the defaults of `Workload()`.
@Suite struct WorkloadFieldTableTests {
    @Test func everyListedFieldSetsFromTextAndReadsBack() throws {
        for spec in Workload.table.specs {
            #expect(spec.scope == .workload, "\(spec.name)")
            var w = Workload()
            let example = try #require(spec.example, "\(spec.name): no example")
            var key = spec.name, value = example
            if spec.prefix != nil {
                let kv = example.split(separator: "=", maxSplits: 1).map(String.init)
                try #require(kv.count == 2, "\(spec.name): example \(example) is not KEY=VALUE")
                (key, value) = (kv[0], kv[1])
            }
            try w.set(key, value)
            let back = spec.get(w)
            if spec.type == "int" || spec.type == "double" {
                #expect(Double(back) == Double(value), "\(spec.name): set \(value), read \(back)")
            } else {
                #expect(back == example, "\(spec.name): set \(example), read \(back)")
            }
        }
    }

    @Test func aBadValueNamesTheFieldAndWhatItAccepts() {
        // Free-text fields (and `faults`, where "" is the empty list) accept "".
        let freeText: Set = ["name", "logDir", "driverClass", "payloadFile", "faults"]
        for spec in Workload.table.specs where spec.prefix == nil && !freeText.contains(spec.name) {
            var w = Workload()
            #expect { try w.set(spec.name, "") } throws: {
                ($0 as? BenchError)?.message.contains(spec.name) == true
            }
        }
    }

    /// The listed default is `Workload()`'s value, and it is a value the field accepts.
    @Test func theListedDefaultsAreWorkloadsOwnAndValid() throws {
        let defaults = Workload()
        for row in Workload.table.rows {
            let spec = try #require(Workload.table.spec(row.name))
            #expect(row.defaultValue == spec.get(defaults), "\(row.name)")
            guard !row.defaultValue.isEmpty, spec.prefix == nil else { continue }
            var w = Workload()
            try w.set(row.name, row.defaultValue)
            #expect(spec.get(w) == row.defaultValue, "\(row.name)")
        }
        #expect(Workload.table.rows.first { $0.name == "producerRate" }?.defaultValue == "10000")
        #expect(Workload.table.rows.first { $0.name == "topics" }?.allowed == "1…1,000,000")
    }
}
