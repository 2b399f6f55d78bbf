import CCairo

/// Line chart of named series, e.g. train and test loss per epoch.
///
///     var p = LinePlot(title: "Loss", xLabel: "epoch", yLabel: "MSE")
///     p.add("train", x: epochs, y: trainLoss)
///     p.add("test", x: epochs, y: testLoss)
///     try p.write(to: "loss.png")
public struct LinePlot: Sendable {
  public struct Series: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    public var color: Color?
    public var dashed: Bool
    /// Draw a dot at every point (useful for few points, e.g. per-epoch eval).
    public var markers: Bool
  }

  public var title: String
  public var xLabel: String
  public var yLabel: String
  public var logY: Bool
  public var width: Int
  public var height: Int
  public private(set) var series: [Series] = []

  public init(
    title: String = "", xLabel: String = "", yLabel: String = "", logY: Bool = false,
    width: Int = 900, height: Int = 560
  ) {
    self.title = title
    self.xLabel = xLabel
    self.yLabel = yLabel
    self.logY = logY
    self.width = width
    self.height = height
  }

  /// Adds a series; x and y must have the same length. Non-finite points (and, on a log
  /// axis, non-positive y) are skipped and break the line.
  public mutating func add(
    _ name: String, x: [Double], y: [Double], color: Color? = nil,
    dashed: Bool = false, markers: Bool? = nil
  ) {
    precondition(
      x.count == y.count, "series '\(name)': \(x.count) x values but \(y.count) y values")
    series.append(
      Series(
        name: name, x: x, y: y, color: color, dashed: dashed, markers: markers ?? (x.count <= 30)))
  }

  /// Convenience: y against 1, 2, 3, … (steps or epochs).
  public mutating func add(_ name: String, y: [Double], color: Color? = nil, dashed: Bool = false) {
    add(name, x: (0..<y.count).map { Double($0 + 1) }, y: y, color: color, dashed: dashed)
  }

  private func usable(_ x: Double, _ y: Double) -> Bool {
    x.isFinite && y.isFinite && (!logY || y > 0)
  }

  /// Renders to `path` (atomically) and returns where the data area is, for checks.
  @discardableResult
  public func write(to path: String) throws -> PlotFrame {
    let c = try Canvas(width: width, height: height, path: path)
    var xs: [Double] = []
    var ys: [Double] = []
    for s in series {
      for (x, y) in zip(s.x, s.y) where usable(x, y) {
        xs.append(x)
        ys.append(y)
      }
    }
    let xScale = AxisScale.linear(
      xs.min() ?? 0, xs.max() ?? 1, integer: xs.allSatisfy { $0 == $0.rounded() })
    let yScale =
      logY
      ? AxisScale.log10(ys.min() ?? 1, ys.max() ?? 10)
      : AxisScale.linear(ys.min() ?? 0, ys.max() ?? 1)
    let axes = Axes(title: title, xLabel: xLabel, yLabel: yLabel)
    let f = axes.frame(on: c, x: xScale, y: yScale)
    axes.drawGrid(on: c, f)
    axes.clip(c, f)
    cairo_set_line_join(c.cr, CAIRO_LINE_JOIN_ROUND)
    cairo_set_line_cap(c.cr, CAIRO_LINE_CAP_ROUND)
    for (i, s) in series.enumerated() {
      let color = s.color ?? Color.palette(i)
      c.set(color)
      cairo_set_line_width(c.cr, 2.2)
      axes.setDash(c, s.dashed)
      var penDown = false
      for (x, y) in zip(s.x, s.y) {
        guard usable(x, y) else {
          penDown = false
          continue
        }
        let p = f.point(x: x, y: y)
        if penDown { cairo_line_to(c.cr, p.x, p.y) } else { cairo_move_to(c.cr, p.x, p.y) }
        penDown = true
      }
      cairo_stroke(c.cr)
      axes.setDash(c, false)
      if s.markers {
        for (x, y) in zip(s.x, s.y) where usable(x, y) {
          let p = f.point(x: x, y: y)
          c.circle(p.x, p.y, 3.2, color)
        }
      }
    }
    axes.unclip(c)
    axes.drawChrome(on: c, f)
    // Legend lists named series that have something to show.
    let legend = series.enumerated().filter {
      !$1.name.isEmpty && zip($1.x, $1.y).contains(where: usable)
    }.map {
      LegendItem(
        name: $1.name, color: $1.color ?? Color.palette($0), mark: .line(dashed: $1.dashed))
    }
    axes.drawLegend(on: c, f, legend)
    try c.writePNG(to: path)
    return f
  }
}
