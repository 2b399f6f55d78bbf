import CCairo

/// A grid of small images (e.g. originals above reconstructions, or VAE samples), each
/// scaled up with nearest-neighbour so pixels stay crisp.
public struct ImageGrid: Sendable {
  public enum Channels: Sendable {
    case gray
    /// RGB with planar (CHW, PyTorch's layout) or interleaved (HWC) storage.
    case rgb(planar: Bool)
    var count: Int { if case .gray = self { return 1 } else { return 3 } }
  }

  public var imageWidth: Int
  public var imageHeight: Int
  public var channels: Channels
  public var columns: Int
  /// Images in row-major grid order, values in [0, 1] (clamped; NaN shows black).
  public var images: [[Float]]
  /// Optional label drawn left of each row.
  public var rowLabels: [String]
  public var title: String
  /// Screen pixels per image pixel.
  public var scale: Int
  public var gap: Int

  public init(images: [[Float]], imageWidth: Int, imageHeight: Int, channels: Channels = .gray, columns: Int,
              rowLabels: [String] = [], title: String = "", scale: Int = 3, gap: Int = 4) {
    self.images = images
    self.imageWidth = imageWidth
    self.imageHeight = imageHeight
    self.channels = channels
    self.columns = columns
    self.rowLabels = rowLabels
    self.title = title
    self.scale = scale
    self.gap = gap
  }

  public var rows: Int { columns > 0 ? (images.count + columns - 1) / columns : 0 }

  /// Layout numbers, exposed so callers/tests can find a given image in the output.
  public struct Layout: Sendable {
    public let width: Int
    public let height: Int
    public let gridLeft: Int
    public let gridTop: Int
    public let cellWidth: Int
    public let cellHeight: Int
    public let gap: Int
    /// Top-left pixel of image pixel (0, 0) of cell (row, col).
    public func origin(row: Int, col: Int) -> (x: Int, y: Int) {
      (gridLeft + col * (cellWidth + gap), gridTop + row * (cellHeight + gap))
    }
  }

  func layout(_ c: Canvas?) -> Layout {
    let cw = imageWidth * scale, ch = imageHeight * scale
    let labelW = rowLabels.isEmpty ? 0 : Int(((rowLabels.map { c?.textWidth($0, size: 13) ?? Double($0.count * 8) }.max() ?? 0) + 16).rounded(.up))
    let margin = 10
    let top = margin + (title.isEmpty ? 0 : 32)
    let w = margin + labelW + columns * cw + max(columns - 1, 0) * gap + margin
    let h = top + rows * ch + max(rows - 1, 0) * gap + margin
    return Layout(width: w, height: h, gridLeft: margin + labelW, gridTop: top, cellWidth: cw, cellHeight: ch, gap: gap)
  }

  @discardableResult
  public func write(to path: String) throws -> Layout {
    guard imageWidth > 0, imageHeight > 0, columns > 0, scale > 0, !images.isEmpty else {
      throw PlotError(path: path, "image grid needs images, a positive image size, columns and scale")
    }
    let n = imageWidth * imageHeight * channels.count
    if let bad = images.firstIndex(where: { $0.count != n }) {
      throw PlotError(path: path, "image \(bad) has \(images[bad].count) values, expected \(imageWidth)×\(imageHeight)×\(channels.count) = \(n)")
    }
    // Measure with a scratch canvas, then draw on one of the final size.
    let probe = try Canvas(width: 1, height: 1, path: path)
    let L = layout(probe)
    let c = try Canvas(width: L.width, height: L.height, path: path)
    if !title.isEmpty {
      c.text(title, x: Double(L.width) / 2, y: 10 + 14, size: 16, align: .center, bold: true)
    }
    for r in 0..<rows where r < rowLabels.count {
      let y = Double(L.origin(row: r, col: 0).y) + Double(L.cellHeight) / 2
      c.text(rowLabels[r], x: Double(L.gridLeft) - 10, y: y, size: 13, align: .right)
    }
    for (i, img) in images.enumerated() {
      let o = L.origin(row: i / columns, col: i % columns)
      try drawImage(img, on: c, at: o, path: path)
    }
    try c.writePNG(to: path)
    return L
  }

  private func drawImage(_ img: [Float], on c: Canvas, at o: (x: Int, y: Int), path: String) throws {
    let w = imageWidth, h = imageHeight
    let src = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(w), Int32(h))
    defer { cairo_surface_destroy(src) }
    guard cairo_surface_status(src) == CAIRO_STATUS_SUCCESS, let data = cairo_image_surface_get_data(src) else {
      throw PlotError(path: path, "cannot allocate a \(w)×\(h) image")
    }
    let stride = Int(cairo_image_surface_get_stride(src))
    @inline(__always) func byte(_ v: Float) -> UInt32 {
      v.isNaN ? 0 : UInt32((min(max(v, 0), 1) * 255).rounded())
    }
    img.withUnsafeBufferPointer { p in
      let plane = w * h
      for y in 0..<h {
        let row = UnsafeMutableRawPointer(data + y * stride)
        for x in 0..<w {
          let k = y * w + x
          let r, g, b: UInt32
          switch channels {
          case .gray: r = byte(p[k]); g = r; b = r
          case .rgb(planar: true): r = byte(p[k]); g = byte(p[plane + k]); b = byte(p[2 * plane + k])
          case .rgb(planar: false): r = byte(p[3 * k]); g = byte(p[3 * k + 1]); b = byte(p[3 * k + 2])
          }
          row.storeBytes(of: 0xFF00_0000 | r << 16 | g << 8 | b, toByteOffset: 4 * x, as: UInt32.self)
        }
      }
    }
    cairo_surface_mark_dirty(src)
    cairo_save(c.cr)
    cairo_translate(c.cr, Double(o.x), Double(o.y))
    cairo_scale(c.cr, Double(scale), Double(scale))
    cairo_set_source_surface(c.cr, src, 0, 0)
    cairo_pattern_set_filter(cairo_get_source(c.cr), CAIRO_FILTER_NEAREST)
    cairo_rectangle(c.cr, 0, 0, Double(w), Double(h))
    cairo_fill(c.cr)
    cairo_restore(c.cr)
  }
}
