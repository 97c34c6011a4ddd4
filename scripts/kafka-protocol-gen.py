#!/usr/bin/env python3
"""Generates the Kafka request/response codecs of WeirKafkaProtocol (used by WeirServer) from Kafka's JSON message definitions.

Usage: scripts/kafka-protocol-gen.py [SPEC_DIR] [OUT_DIR]
  SPEC_DIR defaults to ../shared/kafka-protocol (beside the repository), OUT_DIR to
  Sources/WeirKafkaProtocol/Generated. One Swift file per request and one per response, one per header
  and data message, ApiKey.swift listing every generated API with its valid versions, and
  UnsupportedVersionLayouts.swift (every API of the definitions, for UNSUPPORTED_VERSION answers).
  Array loops are KafkaReader.readArray / KafkaWriter.writeArray, not emitted per field.

Each generated struct has `init(from:version:)` (decode from a `KafkaReader`) and
`write(to:version:)` (encode into a `KafkaWriter`), handling every version in the spec's
`validVersions`: fields outside their `versions` are skipped, flexible versions use compact
strings/arrays/bytes and tagged fields (`taggedVersions` / `tag`), nullable fields use -1.
The generated files are committed; rerun this script after changing the API list below.
"""
import json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SPEC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(ROOT), "shared", "kafka-protocol")
if not os.path.isdir(SPEC):
    SPEC = "/work/shared/kafka-protocol"
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "Sources", "WeirKafkaProtocol", "Generated")

# The APIs weir serve decodes and answers.
APIS = ["Produce", "Fetch", "ListOffsets", "Metadata", "OffsetCommit", "OffsetFetch", "FindCoordinator",
        "JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup", "DescribeGroups", "ListGroups", "SaslHandshake",
        "ApiVersions", "CreateTopics", "DeleteTopics", "DeleteRecords", "InitProducerId", "OffsetForLeaderEpoch",
        "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn", "TxnOffsetCommit", "DescribeConfigs", "AlterConfigs",
        "SaslAuthenticate", "CreatePartitions", "DeleteGroups", "IncrementalAlterConfigs", "DescribeCluster"]
OTHERS = ["RequestHeader", "ResponseHeader", "ConsumerProtocolSubscription", "ConsumerProtocolAssignment"]

KEYWORDS = {"protocol", "default", "operator", "internal", "public", "static", "func", "return", "repeat",
            "where", "in", "is", "as", "case", "class", "struct", "enum", "extension", "import", "init", "let",
            "var", "if", "else", "for", "while", "do", "break", "continue", "switch", "throw", "throws", "try",
            "catch", "true", "false", "nil", "super", "self", "subscript", "typealias", "deinit", "guard",
            "defer", "inout", "private", "open", "rethrows", "Type", "Protocol"}

PRIMS = {"int8": "Int8", "int16": "Int16", "uint16": "UInt16", "int32": "Int32", "uint32": "UInt32",
         "int64": "Int64", "float64": "Double", "bool": "Bool", "uuid": "KafkaUUID", "string": "String",
         "bytes": "[UInt8]", "records": "KafkaRecords"}


def load(name):
    text = open(os.path.join(SPEC, name + ".json")).read()
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    return json.loads(text)


class Versions:
    def __init__(self, s):
        s = (s or "none").strip()
        if s == "none":
            self.lo, self.hi = None, None
        elif s.endswith("+"):
            self.lo, self.hi = int(s[:-1]), None
        elif "-" in s:
            a, b = s.split("-")
            self.lo, self.hi = int(a), int(b)
        else:
            self.lo = self.hi = int(s)

    def none(self):
        return self.lo is None

    def cond(self, v="version"):
        """A Swift condition for `version in self`, or 'true' / 'false'."""
        if self.lo is None:
            return "false"
        parts = []
        if self.lo > 0:
            parts.append(f"{v} >= {self.lo}")
        if self.hi is not None:
            parts.append(f"{v} <= {self.hi}")
        return " && ".join(parts) if parts else "true"

    def intersect_cond(self, other):
        a, b = self.cond(), other.cond()
        if a == "false" or b == "false":
            return "false"
        if a == "true":
            return b
        if b == "true":
            return a
        return f"({a}) && ({b})"


def camel(name):
    m = re.match(r"^([A-Z]+)([A-Z][a-z].*)$", name)
    if m:
        s = m.group(1).lower() + m.group(2)
    else:
        m2 = re.match(r"^([A-Z]+)$", name)
        s = name.lower() if m2 else name[0].lower() + name[1:]
    return f"`{s}`" if s in KEYWORDS else s


def bare(ident):
    return ident.strip("`")


class Field:
    def __init__(self, d, msg):
        self.d = d
        self.name = d["name"]
        self.ident = camel(self.name)
        self.type = d["type"]
        self.versions = Versions(d.get("versions"))
        self.nullable = Versions(d.get("nullableVersions"))
        self.tagged = Versions(d.get("taggedVersions"))
        self.tag = d.get("tag")
        self.flex_override = d.get("flexibleVersions")
        self.default = d.get("default")
        self.fields = d.get("fields")
        self.is_array = self.type.startswith("[]")
        self.elem = self.type[2:] if self.is_array else self.type
        self.is_struct = self.elem not in PRIMS
        self.msg = msg

    def swift_elem(self):
        return PRIMS.get(self.elem, self.elem)

    def swift_type(self):
        t = f"[{self.swift_elem()}]" if self.is_array else self.swift_elem()
        if not self.nullable.none():
            t += "?"
        return t

    def default_value(self):
        opt = not self.nullable.none()
        dv = self.default
        if opt and (dv == "null"):
            return "nil"
        if self.is_array:
            return "[]"
        if self.is_struct:
            return f"{self.elem}()"
        t = self.elem
        if t in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
            if dv is None or dv == "":
                return "0"
            return str(int(str(dv), 0))
        if t == "float64":
            return str(dv) if dv not in (None, "") else "0"
        if t == "bool":
            return "true" if dv == "true" else "false"
        if t == "uuid":
            return "KafkaUUID.zero"
        if t == "string":
            return json.dumps(dv if dv not in (None, "null") else "")
        if t == "bytes":
            return "[]"
        if t == "records":
            return "KafkaRecords()"
        raise ValueError(t)


def flex_expr(msg_flex, field):
    if field.flex_override is not None:
        return Versions(field.flex_override).cond()
    return msg_flex.cond()


def read_elem(elem, flex, nullable_cond, struct_name=None):
    """Swift expression reading one value of type `elem` (not an array)."""
    if elem in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
        return f"try r.read{PRIMS[elem]}()"
    if elem == "float64":
        return "try r.readDouble()"
    if elem == "bool":
        return "try r.readBool()"
    if elem == "uuid":
        return "try r.readUUID()"
    if elem == "string":
        return f"try r.readString(compact: {flex})" if nullable_cond == "false" else \
               f"try r.readNullableString(compact: {flex}, nullable: {nullable_cond})"
    if elem == "bytes":
        return f"try r.readBytes(compact: {flex})" if nullable_cond == "false" else \
               f"try r.readNullableBytes(compact: {flex}, nullable: {nullable_cond})"
    if elem == "records":
        return f"try r.readRecords(compact: {flex})"
    return f"try {struct_name or elem}(from: &r, version: version)"


def write_elem(elem, flex, val, nullable):
    if elem in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
        return f"w.write{PRIMS[elem]}({val})"
    if elem == "float64":
        return f"w.writeDouble({val})"
    if elem == "bool":
        return f"w.writeBool({val})"
    if elem == "uuid":
        return f"w.writeUUID({val})"
    if elem == "string":
        return f"w.writeNullableString({val}, compact: {flex})" if nullable else f"w.writeString({val}, compact: {flex})"
    if elem == "bytes":
        return f"w.writeNullableBytes({val}, compact: {flex})" if nullable else f"w.writeBytes({val}, compact: {flex})"
    if elem == "records":
        return f"w.writeRecords({val}, compact: {flex})"
    return f"{val}.write(to: &w, version: version)"


class Gen:
    def __init__(self, msg):
        self.msg = msg
        self.flex = Versions(msg.get("flexibleVersions"))
        self.common = {c["name"]: c for c in msg.get("commonStructs", [])}
        self.out = []

    def emit(self, s, ind):
        self.out.append("    " * ind + s if s else "")

    def struct(self, name, fields_json, ind, top=False, extra=None):
        fields = [Field(f, self.msg) for f in fields_json]
        self.emit(f"public struct {name}: Sendable {{", ind)
        if extra:
            for line in extra:
                self.emit(line, ind + 1)
            self.emit("", 0)
        for f in fields:
            about = f.d.get("about", "").replace("\n", " ")
            if about:
                self.emit(f"/// {about}", ind + 1)
            self.emit(f"public var {f.ident}: {f.swift_type()} = {f.default_value()}", ind + 1)
        self.emit("", 0)
        self.emit("public init() {}", ind + 1)
        self.emit("", 0)
        # Whether every field still has its default (tagged struct fields are sent only when not).
        conds = []
        for f in fields:
            dv = f.default_value()
            if f.is_array or f.elem == "bytes":
                if dv == "nil":
                    conds.append(f"{f.ident} == nil")
                elif not f.nullable.none():
                    conds.append(f"({f.ident}?.isEmpty ?? false)")
                else:
                    conds.append(f"{f.ident}.isEmpty")
            elif f.is_struct:
                conds.append(f"{f.ident} == nil" if dv == "nil" else f"{f.ident}._isDefault")
            elif f.elem == "records":
                conds.append(f"{f.ident} == nil" if dv == "nil" else f"({f.ident}?.count ?? 0) == 0" if not f.nullable.none() else f"{f.ident}.count == 0")
            else:
                conds.append(f"{f.ident} == {dv}")
        self.emit("public var _isDefault: Bool { " + (" && ".join(conds) if conds else "true") + " }", ind + 1)
        self.emit("", 0)
        # Decoder.
        self.emit("public init(from r: inout KafkaReader, version: Int16) throws(KafkaProtocolError) {", ind + 1)
        for f in fields:
            self.read_field(f, ind + 2, tagged=False)
        if not self.flex.none():
            tagged = [f for f in fields if not f.tagged.none()]
            self.emit(f"if {self.flex.cond()} {{", ind + 2)
            if tagged:
                self.emit("try r.readTaggedFields { (tag, r) throws(KafkaProtocolError) in", ind + 3)
                self.emit("switch tag {", ind + 4)
                for f in tagged:
                    self.emit(f"case {f.tag} where {f.tagged.cond()}:", ind + 4)
                    self.read_field(f, ind + 5, tagged=True)
                self.emit("default: break", ind + 4)
                self.emit("}", ind + 4)
                self.emit("}", ind + 3)
            else:
                self.emit("try r.readTaggedFields { (_, _) throws(KafkaProtocolError) in }", ind + 3)
            self.emit("}", ind + 2)
        self.emit("}", ind + 1)
        self.emit("", 0)
        # Encoder.
        self.emit("public func write(to w: inout KafkaWriter, version: Int16) {", ind + 1)
        for f in fields:
            self.write_field(f, ind + 2, tagged=False)
        if not self.flex.none():
            tagged = [f for f in fields if not f.tagged.none()]
            self.emit(f"if {self.flex.cond()} {{", ind + 2)
            if tagged:
                self.emit("var tagged: [(UInt32, KafkaWriter)] = []", ind + 3)
                for f in sorted(tagged, key=lambda x: x.tag):
                    dv = f.default_value()
                    if f.is_array and dv == "[]":
                        nondefault = f"!self.{f.ident}.isEmpty" if f.nullable.none() else f"self.{f.ident} != nil"
                    elif f.is_struct and f.nullable.none():
                        nondefault = f"!self.{f.ident}._isDefault"
                    elif f.is_struct:
                        nondefault = f"self.{f.ident} != nil"
                    elif f.elem == "records":
                        nondefault = "true"
                    elif dv == "nil":
                        nondefault = f"self.{f.ident} != nil"
                    elif f.elem == "bytes":
                        nondefault = f"!self.{f.ident}.isEmpty"
                    else:
                        nondefault = f"self.{f.ident} != {dv}"
                    self.emit(f"if {f.tagged.cond()}, {nondefault} {{", ind + 3)
                    self.emit("var w = KafkaWriter()", ind + 4)
                    self.write_field(f, ind + 4, tagged=True)
                    self.emit(f"tagged.append(({f.tag}, w))", ind + 4)
                    self.emit("}", ind + 3)
                self.emit("w.writeTaggedFields(tagged)", ind + 3)
            else:
                self.emit("w.writeUnsignedVarint(0)", ind + 3)
            self.emit("}", ind + 2)
        self.emit("}", ind + 1)
        # Nested structs.
        for f in fields:
            if f.fields is not None:
                self.emit("", 0)
                self.struct(f.elem, f.fields, ind + 1)
        if top:
            for cname, c in self.common.items():
                self.emit("", 0)
                self.struct(cname, c["fields"], ind + 1)
        self.emit("}", ind)

    def read_field(self, f, ind, tagged):
        if f.versions.none():
            return
        if not tagged:
            cond = f.versions.cond()
            if not f.tagged.none():
                # Tagged in flexible versions: read inline only in versions where it is not tagged.
                if f.tagged.lo <= f.versions.lo and f.tagged.hi is None:
                    return
                cond = f"({cond}) && !({f.tagged.cond()})"
            wrap = cond != "true"
            if wrap:
                self.emit(f"if {cond} {{", ind)
                ind += 1
        flex = flex_expr(self.flex, f)
        ncond = f.nullable.cond()
        opt = not f.nullable.none()
        if f.is_array:
            elem = read_elem(f.elem, flex, "false")
            self.emit(f"self.{f.ident} = try r.readArray(compact: {flex}, nullable: {ncond}) {{ (r) throws(KafkaProtocolError) in {elem} }}"
                      + ("" if opt else " ?? []"), ind)
        elif f.is_struct and opt:
            self.emit(f"if try r.readInt8() >= 0 {{ self.{f.ident} = {read_elem(f.elem, flex, 'false')} }} else {{ self.{f.ident} = nil }}", ind)
        elif f.elem == "records" and not opt:
            self.emit(f"self.{f.ident} = ({read_elem(f.elem, flex, ncond)}) ?? KafkaRecords()", ind)
        else:
            self.emit(f"self.{f.ident} = {read_elem(f.elem, flex, ncond if opt else 'false')}", ind)
        if not tagged and wrap:
            self.emit("}", ind - 1)

    def write_field(self, f, ind, tagged):
        if f.versions.none():
            return
        if not tagged:
            cond = f.versions.cond()
            if not f.tagged.none():
                if f.tagged.lo <= f.versions.lo and f.tagged.hi is None:
                    return
                cond = f"({cond}) && !({f.tagged.cond()})"
            wrap = cond != "true"
            if wrap:
                self.emit(f"if {cond} {{", ind)
                ind += 1
        flex = flex_expr(self.flex, f)
        opt = not f.nullable.none()
        val = f"self.{f.ident}"
        if f.is_array:
            self.emit(f"w.writeArray({val}, compact: {flex}) {{ w, e in {write_elem(f.elem, flex, 'e', False)} }}", ind)
        elif f.is_struct and opt:
            self.emit(f"if let s = {val} {{ w.writeInt8(1); s.write(to: &w, version: version) }} else {{ w.writeInt8(-1) }}", ind)
        elif f.elem == "records":
            self.emit(write_elem(f.elem, flex, val, opt), ind)
        else:
            self.emit(write_elem(f.elem, flex, val, opt), ind)
        if not tagged and wrap:
            self.emit("}", ind - 1)


HEADER = "// Generated by scripts/kafka-protocol-gen.py from Kafka's JSON message definitions. Do not edit.\n\n"


def gen_message(msg):
    g = Gen(msg)
    valid = Versions(msg.get("validVersions"))
    extra = []
    if "apiKey" in msg:
        extra.append(f"public static let apiKey: Int16 = {msg['apiKey']}")
    if valid.lo is not None:
        extra.append(f"public static let validVersions: ClosedRange<Int16> = {valid.lo}...{valid.hi if valid.hi is not None else valid.lo}")
    fl = g.flex
    extra.append(f"public static func isFlexible(_ version: Int16) -> Bool {{ {fl.cond()} }}")
    g.struct(msg["name"], msg["fields"], 0, top=True, extra=extra)
    return "\n".join(g.out) + "\n"


KINDS = {"int8": "int8", "int16": "int16", "uint16": "int16", "int32": "int32", "uint32": "int32", "int64": "int64",
         "float64": "int64", "bool": "int8", "uuid": "uuid", "string": "string", "bytes": "bytes", "records": "records"}


def vrange(v):
    """A Swift `ResponseLayout.Versions` literal for a Versions (hi nil = open)."""
    if v.none():
        return "nil"
    return f"{v.lo}...{v.hi if v.hi is not None else 'Int16.max'}"


def gen_error_layouts():
    """Every response in Kafka's definitions, as the top-level field layout that
    UnsupportedVersionResponse writes (defaults, ErrorCode set) for a version weir serve does not serve."""
    rows = []
    for fname in sorted(os.listdir(SPEC)):
        if not fname.endswith("Response.json"):
            continue
        msg = load(fname[:-5])
        if msg.get("type") != "response" or "apiKey" not in msg:
            continue
        fields = []
        for d in msg["fields"]:
            f = Field(d, msg)
            if f.versions.none():
                continue
            if f.is_array:
                kind = ".array"
            elif f.is_struct:
                kind = ".structure"
            else:
                kind = "." + KINDS[f.elem]
            dv = f.default_value()
            parts = [kind, vrange(f.versions)]
            if not f.nullable.none():
                parts.append(f"nullable: {vrange(f.nullable)}")
            if not f.tagged.none():
                parts.append(f"tagged: {vrange(f.tagged)}")
            if f.name == "ErrorCode":
                parts.append("error: true")
            elif dv not in ("0", "nil", "[]", '""', "false") and kind in (".int8", ".int16", ".int32", ".int64"):
                parts.append(f"value: {1 if dv == 'true' else dv}")
            fields.append("F(" + ", ".join(parts) + ")")
        flex = Versions(msg.get("flexibleVersions"))
        rows.append(f"        {msg['apiKey']}: L({vrange(flex)}, [{', '.join(fields)}]),  // {msg['name']}")
    lines = [HEADER.rstrip(), "", "// swiftlint:disable all", "",
             "extension UnsupportedVersionResponse {",
             "    private typealias L = UnsupportedVersionResponse.Layout",
             "    private typealias F = UnsupportedVersionResponse.Field",
             "",
             "    /// Every API key in Kafka's definitions: flexible versions and top-level response fields.",
             "    static let layouts: [Int16: Layout] = ["] + rows + ["    ]", "}"]
    open(os.path.join(OUT, "UnsupportedVersionLayouts.swift"), "w").write("\n".join(lines) + "\n")
    return len(rows)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".swift"):
            os.remove(os.path.join(OUT, f))
    keys = []
    for api in APIS:
        req, resp = load(api + "Request"), load(api + "Response")
        keys.append((api, req["apiKey"], Versions(req["validVersions"])))
        for msg in (req, resp):
            text = HEADER + "// swiftlint:disable all\n\n" + gen_message(msg)
            open(os.path.join(OUT, msg["name"] + ".swift"), "w").write(text)
    for name in OTHERS:
        open(os.path.join(OUT, name + ".swift"), "w").write(HEADER + gen_message(load(name)))
    lines = [HEADER.rstrip(), "", "/// The API keys of the requests WeirServer decodes, with Kafka's names.",
             "public enum ApiKey: Int16, Sendable, CaseIterable {"]
    for api, key, _ in sorted(keys, key=lambda k: k[1]):
        lines.append(f"    case {camel(api)} = {key}")
    lines.append("")
    lines.append("    /// Every version the generated codecs can decode (`validVersions` in Kafka's definitions).")
    lines.append("    public var validVersions: ClosedRange<Int16> {")
    lines.append("        switch self {")
    for api, key, v in sorted(keys, key=lambda k: k[1]):
        lines.append(f"        case .{camel(api)}: {api}Request.validVersions")
    lines.append("        }")
    lines.append("    }")
    lines.append("")
    lines.append("    /// Whether `version` of this API uses the flexible encoding (request header v2, response header v1).")
    lines.append("    public func isFlexible(_ version: Int16) -> Bool {")
    lines.append("        switch self {")
    for api, key, v in sorted(keys, key=lambda k: k[1]):
        lines.append(f"        case .{camel(api)}: {api}Request.isFlexible(version)")
    lines.append("        }")
    lines.append("    }")
    lines.append("}")
    open(os.path.join(OUT, "ApiKey.swift"), "w").write("\n".join(lines) + "\n")
    n = gen_error_layouts()
    print(f"generated {n} unsupported-version layouts")
    print(f"generated {len(APIS)} APIs and {len(OTHERS)} other messages into {OUT}")


main()
