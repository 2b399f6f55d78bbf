import Foundation

/// Axis scale and tick placement ("nice numbers": steps of 1, 2 or 5 × 10^k).
struct AxisScale {
  var lo: Double
  var hi: Double
  var log: Bool
  var ticks: [Double]
  var labels: [String]

  /// A linear axis over [min, max] plus a small margin (so markers at the ends stay
  /// visible), with 1-2-5 × 10^k ticks inside it; whole-number ticks only when `integer`
  /// (epochs, steps: matplotlib's MaxNLocator(integer=True)).
  static func linear(
    _ minV: Double, _ maxV: Double, target: Int = 6, margin: Double = 0.03, integer: Bool = false
  ) -> AxisScale {
    var a = minV
    var b = maxV
    if !(a.isFinite && b.isFinite) {
      a = 0
      b = 1
    }
    if a == b {
      let pad = a == 0 ? 1 : abs(a) * 0.1
      a -= pad
      b += pad
    }
    let span = b - a
    let lo = a - margin * span
    let hi = b + margin * span
    var step = niceStep(span / Double(max(target - 1, 1)))
    if integer { step = max(step, 1) }
    var ticks: [Double] = []
    var t = (lo / step).rounded(.up) * step
    while t <= hi + step * 1e-9 {
      ticks.append(abs(t) < step * 1e-9 ? 0 : t)
      t += step
    }
    return AxisScale(
      lo: lo, hi: hi, log: false, ticks: ticks, labels: ticks.map { format($0, step: step) })
  }

  /// A base-10 log axis over the positive range [min, max] plus a margin in log space; ticks
  /// at decades, with 2× and 5× added when the range is short, and linear nice ticks when it
  /// spans too little for either.
  static func log10(_ minV: Double, _ maxV: Double, margin: Double = 0.03) -> AxisScale {
    var a = minV
    var b = maxV
    if !(a.isFinite && b.isFinite && a > 0 && b > 0) {
      a = 1
      b = 10
    }
    var la = Foundation.log10(a)
    var lb = Foundation.log10(b)
    if lb - la < 0.05 {
      la -= 0.1
      lb += 0.1
    }
    let span = lb - la
    let lo = pow(10, la - margin * span)
    let hi = pow(10, lb + margin * span)
    let multipliers: [Double] = span <= 2.5 ? [1, 2, 5] : [1]
    let every = max(1, Int((span / 8).rounded(.up)))  // at most ~8 decade labels
    var ticks: [Double] = []
    var e = Int(Foundation.log10(lo).rounded(.down))
    while Double(e) <= Foundation.log10(hi) {
      for m in multipliers {
        let t = m * pow(10, Double(e))
        if t >= lo, t <= hi { ticks.append(t) }
      }
      e += every
    }
    if ticks.count < 4 {
      // Less than a decade with few 1-2-5 points inside: label it linearly.
      let lin = linear(lo, hi, target: 5, margin: 0)
      return AxisScale(
        lo: lo, hi: hi, log: true, ticks: lin.ticks.filter { $0 > 0 },
        labels: zip(lin.ticks, lin.labels).filter { $0.0 > 0 }.map(\.1))
    }
    return AxisScale(lo: lo, hi: hi, log: true, ticks: ticks, labels: ticks.map(formatLog))
  }

  /// Position of `v` in [0, 1] along the axis.
  func unit(_ v: Double) -> Double {
    if log {
      return (Foundation.log10(v) - Foundation.log10(lo))
        / (Foundation.log10(hi) - Foundation.log10(lo))
    }
    return (v - lo) / (hi - lo)
  }

  static func niceStep(_ raw: Double) -> Double {
    let e = pow(10, Foundation.log10(raw).rounded(.down))
    let f = raw / e
    // Nearest of 1, 2, 5, 10 (rounding, not ceiling, keeps the tick count near the target).
    let m: Double = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10
    return m * e
  }

  static func format(_ v: Double, step: Double) -> String {
    let mag = max(abs(v), step)
    if mag >= 1e6 || mag < 1e-4 { return String(format: "%.3g", v) }
    let decimals = max(0, Int(-Foundation.log10(step * 1.0000001).rounded(.down)))
    return String(format: "%.\(decimals)f", v)
  }

  static func formatLog(_ v: Double) -> String {
    if v >= 1e-3 && v < 1e5 {
      let s = String(format: "%.4f", v)
      var t = s
      while t.hasSuffix("0") { t.removeLast() }
      if t.hasSuffix(".") { t.removeLast() }
      return t
    }
    return String(format: "%.0e", v)
  }
}
