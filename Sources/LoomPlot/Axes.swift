import CCairo

/// Where the data area of a chart landed in the image, and how data maps to pixels.
public struct PlotFrame: Sendable {
  public let left: Double
  public let top: Double
  public let width: Double
  public let height: Double
  let xScale: AxisScale
  let yScale: AxisScale

  /// Pixel position (x right, y down) of a data point.
  public func point(x: Double, y: Double) -> (x: Double, y: Double) {
    (left + xScale.unit(x) * width, top + (1 - yScale.unit(y)) * height)
  }

  public var xRange: ClosedRange<Double> { xScale.lo...xScale.hi }
  public var yRange: ClosedRange<Double> { yScale.lo...yScale.hi }
}

/// A legend entry: a colour and how to draw its key.
struct LegendItem {
  enum Mark { case line(dashed: Bool), dot }
  let name: String
  let color: Color
  let mark: Mark
}

/// Shared chart chrome: grid, spines, ticks, labels, title and legend, so line and scatter
/// plots look alike.
struct Axes {
  var title: String
  var xLabel: String
  var yLabel: String
  /// Width reserved right of the data area for a legend (0: legend drawn inside).
  var legendWidth: Double = 0

  static let tickFont = 12.0
  static let labelFont = 14.0
  static let titleFont = 17.0

  /// Lays out the data area from the canvas size and the tick label widths.
  func frame(on c: Canvas, x: AxisScale, y: AxisScale) -> PlotFrame {
    let yLabelWidth = y.labels.map { c.textWidth($0, size: Self.tickFont) }.max() ?? 0
    let left = 14 + (yLabel.isEmpty ? 0 : Self.labelFont + 12) + yLabelWidth + 10
    let top = title.isEmpty ? 20.0 : 20 + Self.titleFont + 14
    let bottom = 10 + Self.tickFont + 12 + (xLabel.isEmpty ? 0 : Self.labelFont + 14)
    let right = legendWidth > 0 ? legendWidth + 20 : 8 + c.textWidth(x.labels.last ?? "", size: Self.tickFont) / 2 + 12
    return PlotFrame(left: left.rounded(), top: top.rounded(), width: (Double(c.width) - left - right).rounded(),
                     height: (Double(c.height) - top - bottom).rounded(), xScale: x, yScale: y)
  }

  /// Background grid; drawn before the data.
  func drawGrid(on c: Canvas, _ f: PlotFrame) {
    for t in f.xScale.ticks {
      let px = f.point(x: t, y: f.yScale.lo).x.rounded() + 0.5
      c.line(px, f.top, px, f.top + f.height, Color.grid)
    }
    for t in f.yScale.ticks {
      let py = f.point(x: f.xScale.lo, y: t).y.rounded() + 0.5
      c.line(f.left, py, f.left + f.width, py, Color.grid)
    }
  }

  /// Clips subsequent drawing to the data area.
  func clip(_ c: Canvas, _ f: PlotFrame) {
    cairo_save(c.cr)
    cairo_rectangle(c.cr, f.left, f.top, f.width, f.height)
    cairo_clip(c.cr)
  }

  func unclip(_ c: Canvas) { cairo_restore(c.cr) }

  /// Spines, ticks, tick labels, axis labels, title; drawn after the data.
  func drawChrome(on c: Canvas, _ f: PlotFrame) {
    c.rect(f.left + 0.5, f.top + 0.5, f.width, f.height, fill: nil, stroke: Color.axis)
    for (t, label) in zip(f.xScale.ticks, f.xScale.labels) {
      let px = f.point(x: t, y: f.yScale.lo).x.rounded() + 0.5
      c.line(px, f.top + f.height, px, f.top + f.height + 5, Color.axis)
      c.text(label, x: px, y: f.top + f.height + 8 + Self.tickFont / 2 + 2, size: Self.tickFont, align: .center)
    }
    for (t, label) in zip(f.yScale.ticks, f.yScale.labels) {
      let py = f.point(x: f.xScale.lo, y: t).y.rounded() + 0.5
      c.line(f.left - 5, py, f.left, py, Color.axis)
      c.text(label, x: f.left - 9, y: py, size: Self.tickFont, align: .right)
    }
    if !xLabel.isEmpty {
      c.text(xLabel, x: f.left + f.width / 2, y: Double(c.height) - 10 - Self.labelFont / 2,
             size: Self.labelFont, align: .center)
    }
    if !yLabel.isEmpty {
      c.text(yLabel, x: 14 + Self.labelFont / 2, y: f.top + f.height / 2, size: Self.labelFont,
             align: .center, rotated: true)
    }
    if !title.isEmpty {
      c.text(title, x: Double(c.width) / 2, y: 20 + Self.titleFont / 2, size: Self.titleFont, align: .center, bold: true)
    }
  }

  static let legendFont = 12.0, legendRow = 20.0, legendKey = 26.0, legendPad = 9.0

  /// Width of the legend box for `items`.
  static func legendWidth(on c: Canvas, _ items: [LegendItem]) -> Double {
    let textW = items.map { c.textWidth($0.name, size: legendFont) }.max() ?? 0
    return legendPad + legendKey + 8 + textW + legendPad
  }

  /// Legend box: in the top-right corner of the data area, or right of it when space was
  /// reserved with `legendWidth`.
  func drawLegend(on c: Canvas, _ f: PlotFrame, _ items: [LegendItem]) {
    guard !items.isEmpty else { return }
    let size = Self.legendFont, row = Self.legendRow, key = Self.legendKey, pad = Self.legendPad
    let w = Self.legendWidth(on: c, items)
    let h = pad * 2 + row * Double(items.count) - 4
    let x = legendWidth > 0 ? f.left + f.width + 12 : f.left + f.width - w - 10
    let y = f.top + (legendWidth > 0 ? 0 : 10)
    c.rect(x + 0.5, y + 0.5, w, h, fill: Color(hex: 0xFFFFFF, alpha: 0.9), stroke: Color(hex: 0xBBBBBB))
    for (i, item) in items.enumerated() {
      let cy = y + pad + row * Double(i) + row / 2 - 2
      switch item.mark {
      case .line(let dashed):
        if dashed { setDash(c, true) }
        c.line(x + pad, cy, x + pad + key, cy, item.color, width: 2.5)
        if dashed { setDash(c, false) }
      case .dot:
        c.circle(x + pad + key / 2, cy, 5, item.color)
      }
      c.text(item.name, x: x + pad + key + 8, y: cy, size: size)
    }
  }

  func setDash(_ c: Canvas, _ on: Bool) {
    if on {
      var d: [Double] = [7, 4]
      cairo_set_dash(c.cr, &d, 2, 0)
    } else {
      cairo_set_dash(c.cr, nil, 0, 0)
    }
  }
}
