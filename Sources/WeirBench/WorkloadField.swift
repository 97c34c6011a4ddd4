import Foundation

/// The allowed range of one numeric workload field, checked when a file, `--set` or a flag
/// sets it and again by `Workload.validate()`: a value outside it is a usage error (exit 2)
/// that names the field and the range, never a crash, a hang or a silent clamp.
public struct WorkloadFieldRange: Sendable, Equatable {
    public var name: String
    public var min: Double
    public var max: Double
    /// Whole numbers only.
    public var integer: Bool
    /// The unit and what the value means, for `weir bench list --fields` and errors.
    public var unit: String

    /// "integer 1…1,000,000 (topics)".
    public var text: String {
        "\(integer ? "integer" : "number") \(Self.format(min))…\(Self.format(max))" + (unit.isEmpty ? "" : " \(unit)")
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 {
            let f = NumberFormatter()
            f.numberStyle = .decimal
            f.groupingSeparator = ","
            f.usesGroupingSeparator = true
            return f.string(from: NSNumber(value: Int64(v))) ?? String(Int64(v))
        }
        return String(v)
    }

    /// Parses `text` and checks it against the range (no trap for any input: the value is
    /// checked as a `Double` before it becomes an `Int`).
    func parse(_ text: String) throws(BenchError) -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let v = Double(trimmed), v.isFinite else {
            throw .usage("\(name): '\(text)' is not a number; allowed: \(self.text).")
        }
        guard v >= min, v <= max else {
            throw .usage("\(name): \(trimmed) is out of range; allowed: \(self.text).")
        }
        if integer && v != v.rounded() {
            throw .usage("\(name): \(trimmed) is not a whole number; allowed: \(self.text).")
        }
        return v
    }

    func check(_ v: Double) throws(BenchError) {
        guard v.isFinite, v >= min, v <= max, !integer || v == v.rounded() else {
            throw .usage("\(name): \(v) is out of range; allowed: \(text).")
        }
    }
}

/// One workload field, declared once: its name, what it takes (a range, a choice or a text
/// form), how text sets it and how its value reads back. `Workload.set(_:_:)`,
/// `Workload.validate()`, `weir bench list --fields`, `weir bench --help` and the usage errors
/// all derive from `Workload.fields`, the one list of these.
public struct WorkloadField: Sendable {
    /// The name in a workload file and in `--set NAME=VALUE` (OMB's spelling where OMB has one).
    public let name: String
    /// The numeric range, for numeric fields.
    public let range: WorkloadFieldRange?
    /// What the field accepts, as `weir bench list --fields` prints it.
    public let help: String
    /// A value `set` accepts, for the docs and the round-trip test.
    public let example: String
    /// Set when the field also takes every `PREFIX.KEY` (`config.`, `pattern.`): the key after
    /// the prefix is passed to `apply`'s text as `KEY=VALUE`.
    public let prefix: String?
    /// Whether `validate()` checks the value read back against the range (false for the OMB
    /// aliases `testDurationMinutes`/`warmupDurationMinutes`, whose value is another field's).
    let validated: Bool
    let apply: @Sendable (inout Workload, String) throws -> Void
    /// The value as text (`nil` when unset), or for numeric fields as a number.
    let text: @Sendable (Workload) -> String?
    let number: (@Sendable (Workload) -> Double?)?

    /// The current value as text, for the round trip (`nil` when unset).
    public func value(in w: Workload) -> String? {
        if let number { return number(w).map { range?.integer == true ? String(Int64($0)) : String($0) } }
        return text(w)
    }

    /// A numeric field (an integer when `integer`), set and read as a `Double`.
    static func number(
        _ name: String, _ min: Double, _ max: Double, integer: Bool = false, _ unit: String, validated: Bool = true,
        set: @escaping @Sendable (inout Workload, Double) -> Void, get: @escaping @Sendable (Workload) -> Double?
    ) -> WorkloadField {
        let r = WorkloadFieldRange(name: name, min: min, max: max, integer: integer, unit: unit)
        return WorkloadField(
            name: name, range: r, help: r.text, example: WorkloadFieldRange.plain(max), prefix: nil, validated: validated,
            apply: { w, v in set(&w, try r.parse(v)) }, text: { _ in nil }, number: get)
    }

    /// An integer field stored as `Int`.
    static func int(
        _ name: String, _ min: Double, _ max: Double, _ unit: String,
        _ kp: any WritableKeyPath<Workload, Int> & Sendable
    ) -> WorkloadField {
        number(name, min, max, integer: true, unit, set: { $0[keyPath: kp] = Int($1) }, get: { Double($0[keyPath: kp]) })
    }

    /// A number field stored as `Double`.
    static func double(
        _ name: String, _ min: Double, _ max: Double, _ unit: String,
        _ kp: any WritableKeyPath<Workload, Double> & Sendable
    ) -> WorkloadField {
        number(name, min, max, unit, set: { $0[keyPath: kp] = $1 }, get: { $0[keyPath: kp] })
    }

    /// A field whose value is one of an enum's raw values (`help` lists them unless given).
    static func choice<E: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, _ kp: any WritableKeyPath<Workload, E> & Sendable, help: String? = nil,
        aliases: [String: E] = [:]
    ) -> WorkloadField where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        return text(name, help ?? names.joined(separator: " | "), example: names.last ?? "") { w, v in
            guard let e = aliases[v] ?? E(rawValue: v) else { throw Invalid() }
            w[keyPath: kp] = e
        } get: { $0[keyPath: kp].rawValue }
    }

    /// A `true | false` field (also `yes`/`no`/`1`/`0`).
    static func bool(
        _ name: String, _ note: String = "", set: @escaping @Sendable (inout Workload, Bool) -> Void,
        get: @escaping @Sendable (Workload) -> Bool?
    ) -> WorkloadField {
        text(name, "true | false" + note, example: "true") { w, v in
            switch v.lowercased() {
            case "true", "yes", "1": set(&w, true)
            case "false", "no", "0": set(&w, false)
            default: throw Invalid()
            }
        } get: { get($0).map(String.init) }
    }

    /// A field with its own text form.
    static func text(
        _ name: String, _ help: String, example: String, prefix: String? = nil,
        set: @escaping @Sendable (inout Workload, String) throws -> Void, get: @escaping @Sendable (Workload) -> String?
    ) -> WorkloadField {
        WorkloadField(
            name: name, range: nil, help: help, example: example, prefix: prefix, validated: false,
            apply: set, text: get, number: nil)
    }

    /// Thrown by a field's setter to get the standard "not valid; allowed: HELP" error.
    struct Invalid: Error {}
}

extension WorkloadFieldRange {
    /// A bound as `set` accepts it ("1000000", "0.01").
    static func plain(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }
}
