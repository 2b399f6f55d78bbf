/// Normalized text as UTF-8 bytes, each byte aligned to a byte range of the original text.
public struct NormalizedText {
  public var bytes: [UInt8]
  /// Original [start, end) byte range per normalized byte.
  public var starts: [Int32]
  public var ends: [Int32]

  public init(_ s: Substring.UTF8View, base: Int) {
    bytes = Array(s)
    starts = []
    ends = []
    starts.reserveCapacity(bytes.count)
    ends.reserveCapacity(bytes.count)
    // Each byte maps to the whole original character it belongs to.
    bytes.withUnsafeBufferPointer { p in
      var i = 0
      while i < p.count {
        let (_, l) = decodeScalar(p, i)
        for _ in 0..<l {
          starts.append(Int32(base + i))
          ends.append(Int32(base + i + l))
        }
        i += l
      }
    }
  }

  public init(bytes: [UInt8], starts: [Int32], ends: [Int32]) {
    self.bytes = bytes
    self.starts = starts
    self.ends = ends
  }

  /// Rebuilds the text scalar by scalar: `f` returns the replacement scalars of each scalar
  /// (empty to delete); each output scalar keeps the original range of its source.
  mutating func mapScalars(_ f: (UInt32, inout [UInt32]) -> Void) {
    var nb = [UInt8]()
    nb.reserveCapacity(bytes.count)
    var ns = [Int32]()
    ns.reserveCapacity(bytes.count)
    var ne = [Int32]()
    ne.reserveCapacity(bytes.count)
    var repl = [UInt32]()
    bytes.withUnsafeBufferPointer { p in
      var i = 0
      while i < p.count {
        let (v, l) = decodeScalar(p, i)
        let s = starts[i]
        let e = ends[i + l - 1]
        repl.removeAll(keepingCapacity: true)
        f(v ?? 0xFFFD, &repl)
        for r in repl {
          appendScalar(r, &nb) {
            ns.append(s)
            ne.append(e)
          }
        }
        i += l
      }
    }
    bytes = nb
    starts = ns
    ends = ne
  }

  public var string: String { String(decoding: bytes, as: UTF8.self) }
}

@inline(__always)
func appendScalar(_ v: UInt32, _ out: inout [UInt8], _ perByte: () -> Void) {
  if v < 0x80 {
    out.append(UInt8(v))
    perByte()
  } else if v < 0x800 {
    out.append(UInt8(0xC0 | (v >> 6)))
    out.append(UInt8(0x80 | (v & 0x3F)))
    perByte()
    perByte()
  } else if v < 0x10000 {
    out.append(UInt8(0xE0 | (v >> 12)))
    out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
    out.append(UInt8(0x80 | (v & 0x3F)))
    perByte()
    perByte()
    perByte()
  } else {
    out.append(UInt8(0xF0 | (v >> 18)))
    out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
    out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
    out.append(UInt8(0x80 | (v & 0x3F)))
    perByte()
    perByte()
    perByte()
    perByte()
  }
}
