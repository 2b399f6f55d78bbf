import CCairo

/// 2-D points coloured by class, e.g. a VAE latent space or PCA of codes.
public struct ScatterPlot: Sendable {
  public var title: String
  public var xLabel: String
  public var yLabel: String
  public var width: Int
  public var height: Int
  /// Legend text per class index; classes without a name are shown as their number.
  public var classNames: [String]
  public var pointRadius: Double
  public private(set) var points: [(x: Double, y: Double, label: Int)] = []

  public init(title: String = "", xLabel: String = "", yLabel: String = "", classNames: [String] = [],
              width: Int = 860, height: Int = 680, pointRadius: Double = 2.5) {
    self.title = title
    self.xLabel = xLabel
    self.yLabel = yLabel
    self.classNames = classNames
    self.width = width
    self.height = height
    self.pointRadius = pointRadius
  }

  /// Adds points; `labels[i]` is the class of point i (colour `Color.palette(label)`).
  public mutating func add(x: [Double], y: [Double], labels: [Int]) {
    precondition(x.count == y.count && y.count == labels.count, "x, y and labels must have the same length")
    for i in x.indices { points.append((x[i], y[i], labels[i])) }
  }

  @discardableResult
  public func write(to path: String) throws -> PlotFrame {
    let c = try Canvas(width: width, height: height, path: path)
    let good = points.filter { $0.x.isFinite && $0.y.isFinite }
    let xScale = AxisScale.linear(good.map(\.x).min() ?? 0, good.map(\.x).max() ?? 1)
    let yScale = AxisScale.linear(good.map(\.y).min() ?? 0, good.map(\.y).max() ?? 1)
    let classes = Set(good.map(\.label)).sorted()
    let legend = classes.map {
      LegendItem(name: $0 >= 0 && $0 < classNames.count ? classNames[$0] : String($0), color: Color.palette($0), mark: .dot)
    }
    // The legend goes outside the data area: a scatter fills its whole frame.
    var axes = Axes(title: title, xLabel: xLabel, yLabel: yLabel)
    axes.legendWidth = legend.isEmpty ? 0 : Axes.legendWidth(on: c, legend)
    let f = axes.frame(on: c, x: xScale, y: yScale)
    axes.drawGrid(on: c, f)
    axes.clip(c, f)
    for p in good {
      let q = f.point(x: p.x, y: p.y)
      var color = Color.palette(p.label)
      color.a = 0.75
      c.circle(q.x, q.y, pointRadius, color)
    }
    axes.unclip(c)
    axes.drawChrome(on: c, f)
    axes.drawLegend(on: c, f, legend)
    try c.writePNG(to: path)
    return f
  }
}
