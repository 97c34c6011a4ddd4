import Foundation
import WeirLog

/// The CLI's listings of Kafka properties and workload fields (`weir bench list --fields`, the
/// `--config`, `--set` and `--rate` help texts), printed from the property tables
/// (`ProducerConfiguration.table`, `ConsumerConfiguration.table`, `LogConfig.table`,
/// `ClientProperties.rows`, `Workload.table`), never from a list of its own.
enum PropertyListing {
    /// One line a property: name, type, default, allowed values, what it does.
    static func table(_ rows: [PropertyRow], indent: String = "  ") -> [String] {
        let width = (rows.map(\.name.count).max() ?? 0) + 2
        return rows.map { row in
            var line = indent + row.name.padding(toLength: width, withPad: " ", startingAt: 0)
            line += "\(row.type), default \(row.defaultValue.isEmpty ? "none" : row.defaultValue)"
            if !row.allowed.isEmpty && row.type != "boolean" { line += ", allowed \(row.allowed)" }
            line += ": \(row.doc)"
            if !row.aliases.isEmpty { line += " (also \(row.aliases.joined(separator: ", ")))" }
            if let example = row.example, ["map", "list"].contains(row.type) { line += ", e.g. \(example)" }
            return line
        }
    }

    /// "acks: 0, 1, all, -1 (default all)." for the `--help` of a flag that sets one property.
    static func allowed<C>(_ table: PropertyTable<C>, _ name: String) -> String {
        guard let row = table.rows.first(where: { $0.name == name }) else { return name }
        return "\(name): \(row.allowed) (default \(row.defaultValue))."
    }

    /// "Known keys: a, b, c." for a `--help` text.
    static func keys(_ rows: [PropertyRow]) -> String {
        "Known keys: \(rows.map(\.name).joined(separator: ", "))."
    }
}
