import Foundation
import WeirClientAPI

/// The allowed range of one numeric workload field, checked when a file, `--set` or a flag
/// sets it and again by `Workload.validate()`: a value outside it is a usage error (exit 2)
/// that names the field and the range, never a crash, a hang or a silent clamp.
public struct WorkloadFieldRange: Sendable, Equatable {
    public var name: String
    public var min: Double
    public var max: Double
    /// Whole numbers only.
    public var integer: Bool

    public init(_ name: String, _ min: Double, _ max: Double, integer: Bool) {
        self.name = name
        self.min = min
        self.max = max
        self.integer = integer
    }

    /// "1…1,000,000": the bounds, as the listings print them.
    public var bounds: String { "\(Self.format(min))…\(Self.format(max))" }

    /// "integer 1…1,000,000", as the usage errors say it.
    public var text: String { "\(integer ? "integer" : "number") \(bounds)" }

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

    /// A value as `set` accepts it and the listings print it ("1000000", "0.01").
    static func plain(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }

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

// The builders of `Workload.table`: each workload field is a `PropertySpec<Workload>` of scope
// `.workload`, declared once with its name, type, range or choices, doc and example, like the
// producer's, consumer's and topic's properties. Its default is read from `Workload()`.
extension PropertySpec where Config == Workload {
    /// A numeric field in `range`, set and read as a `Double`. `checked: false` for the OMB
    /// aliases (`testDurationMinutes`), whose value is another field's and is checked there.
    static func number(
        _ range: WorkloadFieldRange, _ doc: String, checked: Bool = true,
        set: @escaping @Sendable (inout Workload, Double) -> Void, get: @escaping @Sendable (Workload) -> Double?
    ) -> Self {
        let name = range.name
        return Self(
            name, .workload, type: range.integer ? "int" : "double", allowed: range.bounds, doc: doc,
            example: WorkloadFieldRange.plain(range.max),
            get: { w in get(w).map(WorkloadFieldRange.plain) ?? "" },
            set: { (w: inout Workload, text: String) throws(PropertyError) in
                do throws(BenchError) { set(&w, try range.parse(text)) } catch { throw PropertyError(name, error.message) }
            },
            check: { (w: Workload) throws(PropertyError) in
                guard checked, let v = get(w) else { return }
                do throws(BenchError) { try range.check(v) } catch { throw PropertyError(name, error.message) }
            })
    }

    /// An integer field stored as `Int`.
    static func integer(
        _ name: String, _ min: Double, _ max: Double, _ doc: String, _ kp: any WritableKeyPath<Workload, Int> & Sendable
    ) -> Self {
        number(WorkloadFieldRange(name, min, max, integer: true), doc, set: { $0[keyPath: kp] = Int($1) }, get: { Double($0[keyPath: kp]) })
    }

    /// A number field stored as `Double`.
    static func decimal(
        _ name: String, _ min: Double, _ max: Double, _ doc: String, _ kp: any WritableKeyPath<Workload, Double> & Sendable
    ) -> Self {
        number(WorkloadFieldRange(name, min, max, integer: false), doc, set: { $0[keyPath: kp] = $1 }, get: { $0[keyPath: kp] })
    }

    /// A field whose value is one of an enum's raw values (`allowed` lists them unless given).
    static func oneOf<E: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, _ kp: any WritableKeyPath<Workload, E> & Sendable, _ doc: String, allowed: String? = nil,
        aliases: [String: E] = [:]
    ) -> Self where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        return text(name, type: "enum", allowed: allowed ?? names.joined(separator: ", "), doc, example: names.last ?? "") { w, v in
            guard let e = aliases[v] ?? E(rawValue: v) else { throw InvalidFieldValue() }
            w[keyPath: kp] = e
        } get: { $0[keyPath: kp].rawValue }
    }

    /// A `true | false` field (also `yes`/`no`/`1`/`0`).
    static func flag(
        _ name: String, _ doc: String, set: @escaping @Sendable (inout Workload, Bool) -> Void,
        get: @escaping @Sendable (Workload) -> Bool?
    ) -> Self {
        text(name, type: "boolean", allowed: "true, false", doc, example: "true") { w, v in
            switch v.lowercased() {
            case "true", "yes", "1": set(&w, true)
            case "false", "no", "0": set(&w, false)
            default: throw InvalidFieldValue()
            }
        } get: { get($0).map(String.init) }
    }

    /// A field with its own text form. A setter throws `BenchError` for a message of its own,
    /// or `InvalidFieldValue` for the standard "not valid; allowed: ALLOWED".
    static func text(
        _ name: String, type: String = "string", allowed: String, _ doc: String, example: String, prefix: String? = nil,
        set: @escaping @Sendable (inout Workload, String) throws -> Void, get: @escaping @Sendable (Workload) -> String?
    ) -> Self {
        Self(
            name, .workload, type: type, allowed: allowed, doc: doc, example: example, prefix: prefix,
            get: { get($0) ?? "" },
            set: { (w: inout Workload, v: String) throws(PropertyError) in
                do { try set(&w, v) } catch let e as BenchError { throw PropertyError(name, e.message) } catch {
                    throw PropertyError(name, "\(name): '\(v)' is not valid; allowed: \(allowed).")
                }
            })
    }
}

/// Thrown by a workload field's setter to get the standard "not valid; allowed: …" error.
struct InvalidFieldValue: Error {}
