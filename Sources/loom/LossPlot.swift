import Foundation
import LoomPlot

/// The train/eval loss curve of a run as loss.png (Cairo).
enum LossPlot {
  static func write(history: [[String: Double]], to path: String) throws -> String? {
    var trainX: [Double] = [], trainY: [Double] = [], evalX: [Double] = [], evalY: [Double] = []
    for r in history {
      guard let step = r["step"] else { continue }
      if let l = r["loss"] { trainX.append(step); trainY.append(l) }
      if let l = r["eval_loss"] { evalX.append(step); evalY.append(l) }
    }
    guard !trainX.isEmpty else { return nil }
    var plot = LinePlot(title: "Training loss", xLabel: "step", yLabel: "cross-entropy")
    plot.add("train", x: trainX, y: trainY)
    if !evalX.isEmpty { plot.add("eval", x: evalX, y: evalY, markers: true) }
    _ = try plot.write(to: path)
    return path
  }
}
