/// id → token, as a dense array when the ids are nearly contiguous and a dictionary otherwise,
/// so a file naming id 2^31−1 costs one entry, not a table sized by that number (HF accepts
/// such files too).
public struct TokenTable: Sendable {
  private let dense: [String]
  private let present: [Bool]
  private let sparse: [UInt32: String]

  public init(_ vocab: [String: UInt32]) {
    let maxId = vocab.values.max().map(Int.init) ?? -1
    // Dense only when at most about half the slots would be holes.
    if maxId < 2 * vocab.count + 1024 {
      var d = [String](repeating: "", count: maxId + 1)
      var p = [Bool](repeating: false, count: maxId + 1)
      // Several tokens on one id: keep the smallest token, so the choice is deterministic.
      for (t, i) in vocab where !p[Int(i)] || t < d[Int(i)] {
        d[Int(i)] = t
        p[Int(i)] = true
      }
      dense = d
      present = p
      sparse = [:]
    } else {
      var s = [UInt32: String]()
      for (t, i) in vocab where s[i].map({ t < $0 }) ?? true { s[i] = t }
      dense = []
      present = []
      sparse = s
    }
  }

  @inline(__always)
  public subscript(id: UInt32) -> String? {
    let i = Int(id)
    if i < dense.count { return present[i] ? dense[i] : nil }
    return sparse.isEmpty ? nil : sparse[id]
  }

  /// (id, token) in id order.
  public var sortedById: [(id: UInt32, token: String)] {
    if sparse.isEmpty {
      return dense.indices.filter { present[$0] }.map { (UInt32($0), dense[$0]) }
    }
    return sparse.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
  }
}
