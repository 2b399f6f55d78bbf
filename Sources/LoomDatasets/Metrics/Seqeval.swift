/// Entity-level scores for IOB-tagged sequences as `seqeval` computes them in its default
/// mode (conlleval-compatible chunking: IOB1 and IOB2 alike, an `I-` after `O` or after
/// another type starts an entity, E-/S- understood).
public enum Seqeval {
  public struct Entity: Hashable, Sendable {
    public let type: String
    /// First and last token index, inclusive, in the sequences joined with an `O` between.
    public let start: Int
    public let end: Int
  }

  public struct Scores: Sendable, Equatable {
    public let precision: Double
    public let recall: Double
    public let f1: Double
    /// Token-level accuracy (seqeval's `accuracy_score`).
    public let accuracy: Double
    /// Per entity type: (precision, recall, f1, number of true entities).
    public let perType: [String: (precision: Double, recall: Double, f1: Double, support: Int)]

    public static func == (a: Scores, b: Scores) -> Bool {
      a.precision == b.precision && a.recall == b.recall && a.f1 == b.f1
        && a.accuracy == b.accuracy
        && a.perType.keys.sorted() == b.perType.keys.sorted()
        && a.perType.allSatisfy { k, v in
          let w = b.perType[k]!
          return v.precision == w.precision && v.recall == w.recall && v.f1 == w.f1
            && v.support == w.support
        }
    }
  }

  /// seqeval's `get_entities` over sentences (joined with an `O` between, as it does).
  public static func entities(_ sentences: [[String]]) -> [Entity] {
    var seq = [String]()
    for s in sentences { seq += s + ["O"] }
    return entities(flat: sentences.count == 1 ? sentences[0] : seq)
  }

  public static func entities(flat seq: [String]) -> [Entity] {
    var prevTag: Character = "O"
    var prevType = ""
    var begin = 0
    var out = [Entity]()
    for (i, chunk) in (seq + ["O"]).enumerated() {
      let tag = chunk.first ?? "O"
      let rest = chunk.dropFirst()
      // Python: chunk[1:].split('-', maxsplit=1)[-1] or '_'
      let parts = rest.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
      var type = String(parts.last ?? "")
      if type.isEmpty { type = "_" }
      if endOfChunk(prevTag, tag, prevType, type) {
        out.append(Entity(type: prevType, start: begin, end: i - 1))
      }
      if startOfChunk(prevTag, tag, prevType, type) { begin = i }
      prevTag = tag
      prevType = type
    }
    return out
  }

  static func endOfChunk(_ pt: Character, _ t: Character, _ pty: String, _ ty: String) -> Bool {
    if pt == "E" || pt == "S" { return true }
    if pt == "B" || pt == "I", t == "B" || t == "S" || t == "O" { return true }
    return pt != "O" && pt != "." && pty != ty
  }

  static func startOfChunk(_ pt: Character, _ t: Character, _ pty: String, _ ty: String) -> Bool {
    if t == "B" || t == "S" { return true }
    if pt == "E" || pt == "S" || pt == "O", t == "E" || t == "I" { return true }
    return t != "O" && t != "." && pty != ty
  }

  /// Micro-averaged entity precision/recall/F1, per-type scores and token accuracy.
  public static func compute(predictions: [[String]], references: [[String]]) throws -> Scores {
    guard predictions.count == references.count else {
      throw DatasetError(
        "seqeval: \(predictions.count) predicted sequences but \(references.count) references")
    }
    for (i, (p, r)) in zip(predictions, references).enumerated() where p.count != r.count {
      throw DatasetError(
        "seqeval: sequence \(i) has \(p.count) predicted tags but \(r.count) reference tags")
    }
    let pred = Set(entities(predictions))
    let gold = Set(entities(references))
    func prf(_ nc: Int, _ np: Int, _ nt: Int) -> (Double, Double, Double) {
      let p = np > 0 ? Double(nc) / Double(np) : 0
      let r = nt > 0 ? Double(nc) / Double(nt) : 0
      return (p, r, p + r > 0 ? 2 * p * r / (p + r) : 0)
    }
    let (p, r, f) = prf(pred.intersection(gold).count, pred.count, gold.count)
    var per = [String: (precision: Double, recall: Double, f1: Double, support: Int)]()
    for ty in Set(gold.map(\.type)).union(pred.map(\.type)) {
      let pt = pred.filter { $0.type == ty }
      let gt = gold.filter { $0.type == ty }
      let (a, b, c) = prf(pt.intersection(gt).count, pt.count, gt.count)
      per[ty] = (a, b, c, gt.count)
    }
    let flatP = predictions.flatMap { $0 }
    let flatR = references.flatMap { $0 }
    let acc =
      flatP.isEmpty ? 0 : Double(zip(flatP, flatR).filter { $0 == $1 }.count) / Double(flatP.count)
    return Scores(precision: p, recall: r, f1: f, accuracy: acc, perType: per)
  }

  /// run_ner.py's `compute_metrics`: predicted and reference label ids per token, positions
  /// whose reference is −100 (special tokens, later sub-tokens, padding) dropped, ids named
  /// through `names` (id → tag), then `compute`.
  public static func compute(predictionIds: [[Int]], labelIds: [[Int]], names: [String]) throws
    -> Scores
  {
    guard predictionIds.count == labelIds.count else {
      throw DatasetError("seqeval: \(predictionIds.count) predicted rows but \(labelIds.count) label rows")
    }
    func name(_ i: Int) throws -> String {
      guard names.indices.contains(i) else {
        throw DatasetError("seqeval: label id \(i) is out of range for \(names.count) tags")
      }
      return names[i]
    }
    var p = [[String]](), r = [[String]]()
    for (pr, lr) in zip(predictionIds, labelIds) {
      var ps = [String](), rs = [String]()
      for (x, y) in zip(pr, lr) where y != -100 {
        ps.append(try name(x))
        rs.append(try name(y))
      }
      p.append(ps)
      r.append(rs)
    }
    return try compute(predictions: p, references: r)
  }
}
