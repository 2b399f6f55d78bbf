import Foundation
import LoomCore
import LoomTrain

/// Tokenised rows as the collators' features (`input_ids`, `token_type_ids` when the model
/// takes them, and per-example or per-token targets).
enum EncoderFeatures {
  static func make(
    inputIds: [[Int]], tokenTypeIds: [[Int]]?, targets: [String: [Int]] = [:], tokenLabels: [[Int]]? = nil
  ) -> [Features] {
    inputIds.indices.map { i in
      var f: Features = ["input_ids": inputIds[i]]
      if let t = tokenTypeIds { f["token_type_ids"] = t[i] }
      if let l = tokenLabels { f["labels"] = l[i] }
      for (k, v) in targets { f[k] = [v[i]] }
      return f
    }
  }
}
