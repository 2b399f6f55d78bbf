import CCairo
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// PNG output that never leaves a half-written file: Cairo writes a temp file in the same
/// directory, we fsync it and rename it over the target.
enum AtomicPNG {
  static func write(_ surface: OpaquePointer, to path: String) throws {
    let dir: String = {
      guard let slash = path.lastIndex(of: "/") else { return "." }
      return slash == path.startIndex ? "/" : String(path[..<slash])
    }()
    let name = path.split(separator: "/").last.map(String.init) ?? path
    let tmp = "\(dir)/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let status = cairo_surface_write_to_png(surface, tmp)
    guard status == CAIRO_STATUS_SUCCESS else {
      unlink(tmp)
      throw PlotError(path: path, "cannot write PNG: \(String(cString: cairo_status_to_string(status)))")
    }
    let fd = open(tmp, O_RDONLY)
    if fd >= 0 {
      _ = fsync(fd)
      close(fd)
    }
    guard rename(tmp, path) == 0 else {
      let why = String(cString: strerror(errno))
      unlink(tmp)
      throw PlotError(path: path, "cannot move the PNG into place: \(why)")
    }
  }
}

/// A decoded PNG (via Cairo), for tests and checks: size and per-pixel colour.
public struct DecodedPNG {
  public let width: Int
  public let height: Int
  /// Un-premultiplied RGBA bytes, row-major.
  public let rgba: [UInt8]

  public init(path: String) throws {
    let s = cairo_image_surface_create_from_png(path)
    defer { cairo_surface_destroy(s) }
    let status = cairo_surface_status(s)
    guard status == CAIRO_STATUS_SUCCESS else {
      throw PlotError(path: path, "cannot decode PNG: \(String(cString: cairo_status_to_string(status)))")
    }
    let w = Int(cairo_image_surface_get_width(s)), h = Int(cairo_image_surface_get_height(s))
    let format = cairo_image_surface_get_format(s)
    let stride = Int(cairo_image_surface_get_stride(s))
    cairo_surface_flush(s)
    let data = cairo_image_surface_get_data(s)!
    var out = [UInt8](repeating: 0, count: w * h * 4)
    for y in 0..<h {
      let row = data + y * stride
      for x in 0..<w {
        // Cairo stores native-endian 32-bit ARGB, premultiplied.
        let px = UnsafeRawPointer(row + 4 * x).loadUnaligned(as: UInt32.self)
        let a = format == CAIRO_FORMAT_ARGB32 ? Int(px >> 24) : 255
        func un(_ c: UInt32) -> UInt8 { a == 0 ? 0 : UInt8(min(255, (Int(c & 0xFF) * 255 + a / 2) / a)) }
        let o = 4 * (y * w + x)
        out[o] = un(px >> 16)
        out[o + 1] = un(px >> 8)
        out[o + 2] = un(px)
        out[o + 3] = UInt8(a)
      }
    }
    width = w
    height = h
    rgba = out
  }

  /// (r, g, b, a) at pixel (x, y).
  public func pixel(_ x: Int, _ y: Int) -> (r: UInt8, g: UInt8, b: UInt8, a: UInt8) {
    let o = 4 * (y * width + x)
    return (rgba[o], rgba[o + 1], rgba[o + 2], rgba[o + 3])
  }
}
