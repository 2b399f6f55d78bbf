import LoomCore

extension ProcessGroup {
  /// Checks at start-up that every rank has the same `configuration` (its arguments, model
  /// shape, data size…): a hash from each rank is gathered; on a mismatch every rank throws,
  /// and a rank that differs from rank 0 names the first line where it does.
  public func verifySameConfiguration(_ configuration: String, what: String = "configuration") throws {
    guard worldSize > 1 else { return }
    let hashes = try allGather(Self.fnv1a(configuration), what: "the \(what) check")
    guard Set(hashes).count > 1 else { return }
    let reference = String(
      decoding: try broadcast(bytes: Array(configuration.utf8), from: 0, what: "the \(what) check"), as: UTF8.self)
    let differing = hashes.indices.filter { hashes[$0] != hashes[0] }
    var message =
      "ranks disagree on the \(what): rank\(differing.count > 1 ? "s" : "") \(differing.map(String.init).joined(separator: ", ")) \(differing.count > 1 ? "differ" : "differs") from rank 0"
    if rank != 0, hashes[rank] != hashes[0] {
      message += "; here (rank \(rank)) the first difference is \(Self.firstDifference(reference, configuration))"
    }
    message += ". Every rank must run the same command on the same files (mpirun -np N loom … gives each the same arguments)"
    throw LoomError(message)
  }

  /// 64-bit FNV-1a of the UTF-8 bytes.
  static func fnv1a(_ text: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
  }

  /// "line N: rank 0 has `…`, this rank `…`".
  static func firstDifference(_ reference: String, _ mine: String) -> String {
    let a = reference.split(separator: "\n", omittingEmptySubsequences: false)
    let b = mine.split(separator: "\n", omittingEmptySubsequences: false)
    for i in 0..<max(a.count, b.count) {
      let x = i < a.count ? String(a[i]) : "", y = i < b.count ? String(b[i]) : ""
      if x != y { return "line \(i + 1): rank 0 has `\(clip(x, near: y))`, this rank `\(clip(y, near: x))`" }
    }
    return "(none found)"
  }

  /// A long line cut to 60 characters around where it starts to differ from `other`.
  static func clip(_ line: String, near other: String) -> String {
    let chars = Array(line), others = Array(other)
    guard chars.count > 60 else { return line }
    var i = 0
    while i < min(chars.count, others.count) && chars[i] == others[i] { i += 1 }
    let start = max(0, min(i - 20, chars.count - 60))
    return (start > 0 ? "…" : "") + String(chars[start..<min(chars.count, start + 60)]) + (start + 60 < chars.count ? "…" : "")
  }
}
