import Foundation

/// Images from an IDX3 file: `count` images of `rows × cols` unsigned bytes, row-major,
/// image after image (exactly the file's layout).
public struct IDXImages: Sendable, Equatable {
  public let count: Int
  public let rows: Int
  public let cols: Int
  public let pixels: [UInt8]

  public init(count: Int, rows: Int, cols: Int, pixels: [UInt8]) {
    precondition(pixels.count == count * rows * cols, "pixel buffer does not match count × rows × cols")
    self.count = count
    self.rows = rows
    self.cols = cols
    self.pixels = pixels
  }

  public var pixelsPerImage: Int { rows * cols }

  /// The bytes of image `i`.
  public func image(_ i: Int) -> ArraySlice<UInt8> {
    pixels[(i * pixelsPerImage)..<((i + 1) * pixelsPerImage)]
  }
}

/// Labels from an IDX1 file.
public struct IDXLabels: Sendable, Equatable {
  public let labels: [UInt8]
  public init(_ labels: [UInt8]) { self.labels = labels }
  public var count: Int { labels.count }
}

/// Reader for the IDX format (LeCun's MNIST layout): 2 zero bytes, a type byte (0x08 =
/// unsigned byte, the only one these datasets use), a dimension count, big-endian UInt32
/// sizes, then the data. Files may be gzip-compressed (detected by magic bytes).
public enum IDX {
  public static let imagesMagic: UInt32 = 0x0000_0803
  public static let labelsMagic: UInt32 = 0x0000_0801
  /// Largest IDX file (compressed or not) read: 4 GiB, far above MNIST's 47 MB.
  public static let maxFileBytes = 1 << 32

  public static func readImages(path: String) throws -> IDXImages {
    let (dims, data) = try read(path: path, magic: imagesMagic, what: "images (IDX3)")
    return IDXImages(count: dims[0], rows: dims[1], cols: dims[2], pixels: data)
  }

  public static func readLabels(path: String) throws -> IDXLabels {
    let (_, data) = try read(path: path, magic: labelsMagic, what: "labels (IDX1)")
    return IDXLabels(data)
  }

  /// Decompressed file contents (gunzipped when the file starts with the gzip magic).
  /// `limit` caps the decompressed size (tests lower it).
  static func contents(path: String, limit: Int = maxFileBytes) throws -> [UInt8] {
    guard FileManager.default.fileExists(atPath: path) else {
      throw IDXError(.missingFile, path: path, "file not found")
    }
    let data: Data
    do { data = try FileInput.read(path, limit: maxFileBytes) } catch let e as FileReadError {
      throw IDXError(.io, path: path, e.reason)
    }
    return try data.withUnsafeBytes { raw in
      guard Gzip.isGzip(raw) else { return Array(raw) }
      do { return try Gzip.decompress(raw, limit: limit) } catch let f as Gzip.Failure {
        throw IDXError(.badGzip, path: path, f.message)
      }
    }
  }

  static func read(path: String, magic: UInt32, what: String) throws -> (dims: [Int], data: [UInt8]) {
    var bytes = try contents(path: path)
    guard bytes.count >= 4 else {
      throw IDXError(.truncated, path: path, "only \(bytes.count) bytes: too short for the 4-byte magic number")
    }
    let found = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
    guard found == magic else {
      throw IDXError(.badMagic, path: path,
        "magic number \(hex8(found)) is not \(hex8(magic)) (\(what) with unsigned-byte data)")
    }
    let ndims = Int(magic & 0xFF)
    let headerSize = 4 + 4 * ndims
    guard bytes.count >= headerSize else {
      throw IDXError(.truncated, path: path, "header needs \(headerSize) bytes but the file has \(bytes.count)")
    }
    var dims: [Int] = []
    var total = 1
    for d in 0..<ndims {
      let o = 4 + 4 * d
      let v = Int(UInt32(bytes[o]) << 24 | UInt32(bytes[o + 1]) << 16 | UInt32(bytes[o + 2]) << 8 | UInt32(bytes[o + 3]))
      guard v > 0 || d == 0 else { throw IDXError(.badDimensions, path: path, "dimension \(d) is 0") }
      dims.append(v)
      let (product, overflow) = total.multipliedReportingOverflow(by: v)
      total = product
      guard !overflow, total <= bytes.count else {
        throw IDXError(.truncated, path: path,
          "dimensions \(dims) need more than the \(bytes.count - headerSize) data bytes present (truncated?)")
      }
    }
    let available = bytes.count - headerSize
    guard available >= total else {
      throw IDXError(.truncated, path: path,
        "dimensions \(dims) need \(total) data bytes but only \(available) are present (truncated?)")
    }
    guard available == total else {
      throw IDXError(.trailingBytes, path: path,
        "dimensions \(dims) need \(total) data bytes but \(available) are present (\(available - total) extra)")
    }
    bytes.removeFirst(headerSize)  // one memmove; avoids a second full-size copy
    return (dims, bytes)
  }
}

private func hex8(_ v: UInt32) -> String {
  let h = String(v, radix: 16, uppercase: true)
  return "0x" + String(repeating: "0", count: 8 - h.count) + h
}
