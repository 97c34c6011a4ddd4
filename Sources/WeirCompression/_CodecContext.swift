/// A C codec library's context (`LZ4F_cctx`, `LZ4F_dctx`, `ZSTD_CCtx`, `ZSTD_DCtx`), freed with
/// the library's own function when its owner is. Stored inline in its owner: no allocation and
/// no indirection on the compress and decompress paths.
struct _CodecContext: ~Copyable {
    let pointer: OpaquePointer
    private let free: @convention(c) (OpaquePointer?) -> Int

    init(_ pointer: OpaquePointer, free: @convention(c) (OpaquePointer?) -> Int) {
        self.pointer = pointer
        self.free = free
    }

    deinit {
        _ = free(pointer)
    }
}
