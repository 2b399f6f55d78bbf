import Foundation

/// The train/eval loss curve as a PNG next to the model (needs LoomPlot; until it
/// lands the curve is written as CSV and no PNG is produced).
enum LossPlot {
  static func write(history: [[String: Double]], to path: String) throws -> String? {
    var csv = "step,loss,eval_loss\n"
    for r in history {
      guard let step = r["step"] else { continue }
      csv += "\(Int(step)),\(r["loss"].map { "\($0)" } ?? ""),\(r["eval_loss"].map { "\($0)" } ?? "")\n"
    }
    let csvPath = (path as NSString).deletingPathExtension + ".csv"
    try csv.write(toFile: csvPath, atomically: true, encoding: .utf8)
    return csvPath
  }
}
