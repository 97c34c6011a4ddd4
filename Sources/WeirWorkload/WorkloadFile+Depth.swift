import CYaml

extension WorkloadFile {
    /// The deepest nesting of mappings and lists in `text`, read from libyaml's event stream
    /// without building nodes, stopping once it passes `limit`.
    ///
    /// The YAML composer recurses once per level, so a deeply nested file must be refused before
    /// it runs; libyaml's parser keeps its own state on the heap. The count is exact: it is the
    /// parser that decides what is a comment, a quoted scalar or a line break (`\r`, U+0085,
    /// U+2028 and U+2029 end a line too). When the text is not valid YAML the count stops at
    /// the error, which is as deep as the composer can go before it meets the same error.
    package static func nestingDepth(_ text: String, limit: Int = maxDepth) -> Int {
        var text = text
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return 0 }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        return text.withUTF8 { buffer -> Int in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var depth = 0
            var deepest = 0
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return deepest }
                let type = event.type
                yaml_event_delete(&event)
                switch type {
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    depth += 1
                    deepest = max(deepest, depth)
                    if deepest > limit { return deepest }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    depth -= 1
                case YAML_STREAM_END_EVENT:
                    return deepest
                default:
                    break
                }
            }
        }
    }
}
