import CCairo

/// A Cairo ARGB image surface with the few drawing helpers the plots need.
final class Canvas {
  let width: Int
  let height: Int
  let surface: OpaquePointer
  let cr: OpaquePointer

  init(width: Int, height: Int, path: String) throws {
    guard width > 0, height > 0, width <= 16384, height <= 16384 else {
      throw PlotError(path: path, "image size \(width)×\(height) is outside 1…16384")
    }
    self.width = width
    self.height = height
    surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height))
    cr = cairo_create(surface)
    guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, cairo_status(cr) == CAIRO_STATUS_SUCCESS else {
      throw PlotError(path: path, "cannot create a \(width)×\(height) Cairo surface")
    }
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
    fill(Color.white)
  }

  deinit {
    cairo_destroy(cr)
    cairo_surface_destroy(surface)
  }

  func fill(_ c: Color) {
    set(c)
    cairo_paint(cr)
  }

  func set(_ c: Color) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a) }

  func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ c: Color, width: Double = 1) {
    set(c)
    cairo_set_line_width(cr, width)
    cairo_move_to(cr, x0, y0)
    cairo_line_to(cr, x1, y1)
    cairo_stroke(cr)
  }

  func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: Color?, stroke: Color? = nil, width: Double = 1) {
    cairo_rectangle(cr, x, y, w, h)
    if let fill {
      set(fill)
      if stroke != nil { cairo_fill_preserve(cr) } else { cairo_fill(cr) }
    }
    if let stroke {
      set(stroke)
      cairo_set_line_width(cr, width)
      cairo_stroke(cr)
    }
  }

  func circle(_ x: Double, _ y: Double, _ r: Double, _ c: Color) {
    set(c)
    cairo_new_sub_path(cr)
    cairo_arc(cr, x, y, r, 0, 2 * Double.pi)
    cairo_fill(cr)
  }

  enum Align { case left, center, right }

  /// Width of `s` at `size` points.
  func textWidth(_ s: String, size: Double, bold: Bool = false) -> Double {
    font(size, bold)
    var e = cairo_text_extents_t()
    cairo_text_extents(cr, s, &e)
    return e.x_advance
  }

  /// Draws `s` with its baseline-centre (vertically: the middle of capital letters) at (x, y).
  func text(_ s: String, x: Double, y: Double, size: Double, align: Align = .left, color: Color = .text,
            bold: Bool = false, rotated: Bool = false) {
    let w = textWidth(s, size: size, bold: bold)
    let dx: Double = align == .left ? 0 : align == .center ? -w / 2 : -w
    let dy = size * 0.36  // half the cap height, so y is the visual middle of the text
    set(color)
    cairo_save(cr)
    cairo_translate(cr, x, y)
    if rotated { cairo_rotate(cr, -Double.pi / 2) }
    cairo_move_to(cr, dx, dy)
    cairo_show_text(cr, s)
    cairo_restore(cr)
  }

  private func font(_ size: Double, _ bold: Bool) {
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
    cairo_set_font_size(cr, size)
  }

  /// Writes the surface as PNG, atomically.
  func writePNG(to path: String) throws {
    cairo_surface_flush(surface)
    try AtomicPNG.write(surface, to: path)
  }
}
