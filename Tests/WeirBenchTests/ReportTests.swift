import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import WeirBench
import WeirTestSupport

@Suite struct ReportTests {
    static func tempDir() -> String { makeTemporaryDirectory("weir-bench-test") }

    final class ParserDelegate: NSObject, XMLParserDelegate {
        var elements: [String: Int] = [:]
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            elements[name, default: 0] += 1
        }
    }

    @Test func runDirectoryHasEveryFileAndTheHTMLIsWellFormed() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var summary = RunSummary(preset: "unit")
        let r = MeasurementTests.sampleResult()
        summary.steps = [r.summary]
        let written = try RunWriter.write(summary, results: [r], to: dir)
        for f in ["summary.json", "intervals.csv", "latency.csv", "publish.hgrm", "report.html"] {
            #expect(written.contains(dir + "/" + f), "missing \(f)")
        }
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        #expect(html.contains("class=\"percentile-chart\""))
        #expect(html.contains("class=\"throughput-chart\""))
        #expect(html.contains("99.9%"))
        #expect(!html.contains("<script"))
        let parser = XMLParser(data: Data(html.utf8))
        let delegate = ParserDelegate()
        parser.delegate = delegate
        #expect(parser.parse(), "report.html is not well-formed: \(String(describing: parser.parserError))")
        #expect((delegate.elements["svg"] ?? 0) == 2)
        #expect((delegate.elements["polyline"] ?? 0) >= 2)

        // Two runs in one report.
        let both = try HTMLReport.render(runs: [try HTMLReport.RunData.read(directory: dir), try HTMLReport.RunData.read(directory: dir)])
        #expect(both.components(separatedBy: "<polyline").count - 1 >= 4)
    }
}
