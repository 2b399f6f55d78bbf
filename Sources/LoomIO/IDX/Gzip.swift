import CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// gzip decompression via zlib (Foundation on Linux has no public gunzip).
enum Gzip {
  struct Failure: Error { let message: String }

  static func isGzip(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
  }

  /// Inflates a whole gzip (or zlib) stream. Concatenated gzip members are decoded in turn,
  /// as gunzip does. Truncated or corrupt input throws.
  /// Output beyond `limit` bytes throws (a gzip bomb must not exhaust memory).
  static func decompress(_ input: UnsafeRawBufferPointer, limit: Int = 1 << 32) throws -> [UInt8] {
    guard input.count > 0 else { throw Failure(message: "empty gzip stream") }
    // The gzip trailer's ISIZE (length mod 2^32) is a good first guess for the output size;
    // a corrupt trailer can claim anything, so the guess is capped by deflate's maximum ratio
    // and malloc'd uninitialised (untouched pages cost nothing). realloc grows it if needed.
    var capacity = input.count * 4
    if input.count >= 18 {
      let isize = Int(input.loadUnaligned(fromByteOffset: input.count - 4, as: UInt32.self).littleEndian)
      if isize > 0, isize <= input.count * 1032 { capacity = isize }
    }
    capacity = min(max(capacity, 4096), limit)
    guard var out = malloc(capacity)?.assumingMemoryBound(to: UInt8.self) else {
      throw Failure(message: "out of memory")
    }
    defer { free(out) }
    var produced = 0
    var consumed = 0
    let base = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self))

    while consumed < input.count {
      // zlib keeps a back-pointer to its z_stream, so it must not move: allocate it.
      let sp = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
      sp.initialize(to: z_stream())
      defer { sp.deallocate() }
      guard loom_inflate_init_auto(sp) == Z_OK else { throw Failure(message: "zlib init failed") }
      defer { inflateEnd(sp) }
      sp.pointee.next_in = base + consumed
      sp.pointee.avail_in = uInt(min(input.count - consumed, Int(UInt32.max)))
      var status: Int32 = Z_OK
      repeat {
        if produced == capacity {
          guard capacity < limit else {
            throw Failure(message: "decompresses to more than \(limit) bytes, more than an IDX file may hold")
          }
          guard let grown = realloc(out, min(capacity * 2, limit)) else { throw Failure(message: "out of memory") }
          out = grown.assumingMemoryBound(to: UInt8.self)
          capacity = min(capacity * 2, limit)
        }
        let room = min(capacity - produced, Int(UInt32.max))
        sp.pointee.next_out = out + produced
        sp.pointee.avail_out = uInt(room)
        status = inflate(sp, Z_NO_FLUSH)
        produced += room - Int(sp.pointee.avail_out)
        if status == Z_BUF_ERROR && sp.pointee.avail_in == 0 { break }  // ran out of input
      } while status == Z_OK || (status == Z_BUF_ERROR && sp.pointee.avail_out == 0)
      guard status == Z_STREAM_END else {
        if status == Z_DATA_ERROR {
          let why = sp.pointee.msg.map { String(cString: $0) } ?? "corrupt data"
          throw Failure(message: "corrupt gzip data (\(why))")
        }
        throw Failure(message: "gzip stream is truncated (ended after \(produced) decompressed bytes)")
      }
      consumed = sp.pointee.next_in - base
      // Trailing zero padding after the last member is tolerated, like gunzip.
      if consumed < input.count, input[consumed...].allSatisfy({ $0 == 0 }) { break }
    }
    let src = out
    return [UInt8](unsafeUninitializedCapacity: produced) { buf, n in
      if produced > 0 { buf.baseAddress!.update(from: src, count: produced) }
      n = produced
    }
  }
}
