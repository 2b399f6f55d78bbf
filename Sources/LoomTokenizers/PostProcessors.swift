/// One piece of a TemplateProcessing template.
public enum TemplatePiece: Equatable {
  case sequence(id: String, typeId: UInt32)  // id "A" or "B"
  case special(id: String, typeId: UInt32)
}

/// Post-processors: add special tokens around encoded sequences (and trim byte-level offsets).
public enum PostProcessor {
  case byteLevel(trimOffsets: Bool, addPrefixSpace: Bool)
  case roberta(
    sep: (String, UInt32), cls: (String, UInt32), trimOffsets: Bool, addPrefixSpace: Bool)
  case bert(sep: (String, UInt32), cls: (String, UInt32))
  case template(
    single: [TemplatePiece], pair: [TemplatePiece],
    specials: [String: (ids: [UInt32], tokens: [String])])

  /// Number of tokens added to a single or pair input.
  public func addedTokens(isPair: Bool) -> Int {
    switch self {
    case .byteLevel: return 0
    case .roberta: return isPair ? 4 : 2
    case .bert: return isPair ? 3 : 2
    case .template(let s, let p, let sp):
      return (isPair ? p : s).reduce(0) { acc, piece in
        if case .special(let id, _) = piece { return acc + (sp[id]?.ids.count ?? 0) }
        return acc
      }
    }
  }

  func process(_ a: Encoding, _ b: Encoding?, addSpecialTokens: Bool) -> Encoding {
    var a = a
    var b = b
    switch self {
    case .byteLevel(let trim, let aps), .roberta(_, _, let trim, let aps):
      if trim {
        trimOffsets(&a, aps)
        if b != nil { trimOffsets(&b!, aps) }
      }
    default: break
    }
    let pieces: [TemplatePiece]
    var specials: [String: (ids: [UInt32], tokens: [String])] = [:]
    switch addSpecialTokens ? self : .byteLevel(trimOffsets: false, addPrefixSpace: false) {
    case .byteLevel:
      var r = a
      if let b { r.merge(with: b) }
      return r
    case .roberta(let sep, let cls, _, _):
      specials = [cls.0: ([cls.1], [cls.0]), sep.0: ([sep.1], [sep.0])]
      pieces =
        b == nil
        ? [
          .special(id: cls.0, typeId: 0), .sequence(id: "A", typeId: 0),
          .special(id: sep.0, typeId: 0),
        ]
        : [
          .special(id: cls.0, typeId: 0), .sequence(id: "A", typeId: 0),
          .special(id: sep.0, typeId: 0),
          .special(id: sep.0, typeId: 0), .sequence(id: "B", typeId: 0),
          .special(id: sep.0, typeId: 0),
        ]
    case .bert(let sep, let cls):
      specials = [cls.0: ([cls.1], [cls.0]), sep.0: ([sep.1], [sep.0])]
      pieces =
        b == nil
        ? [
          .special(id: cls.0, typeId: 0), .sequence(id: "A", typeId: 0),
          .special(id: sep.0, typeId: 0),
        ]
        : [
          .special(id: cls.0, typeId: 0), .sequence(id: "A", typeId: 0),
          .special(id: sep.0, typeId: 0),
          .sequence(id: "B", typeId: 1), .special(id: sep.0, typeId: 1),
        ]
    case .template(let s, let p, let sp):
      specials = sp
      pieces = b == nil ? s : p
    }
    return applyTemplate(pieces, specials, a, b)
  }
}

/// Builds the template around `a` (and `b`); overflowing parts get the same template.
private func applyTemplate(
  _ pieces: [TemplatePiece], _ specials: [String: (ids: [UInt32], tokens: [String])], _ a: Encoding,
  _ b: Encoding?
) -> Encoding {
  func wrap(_ e: Encoding, _ which: String) -> Encoding {
    // The part of the template belonging to sequence `which`: for pairs, A owns everything
    // up to the B placeholder, B the rest (as HF splits the template per sequence).
    var out = Encoding()
    var inB = false
    for piece in pieces {
      if case .sequence(let id, _) = piece, id == "B" { inB = true }
      if (which == "A") == inB { continue }
      switch piece {
      case .sequence(_, let t):
        for i in 0..<e.count {
          out.append(
            id: e.ids[i], token: e.tokens[i], offset: e.offsets[i], byteOffset: e.byteOffsets[i],
            typeId: t, special: e.specialTokensMask[i] != 0, sequence: e.sequenceIds[i],
            word: e.wordIds[i])
        }
      case .special(let id, let t):
        guard let sp = specials[id] else { continue }
        for (k, sid) in sp.ids.enumerated() {
          out.append(
            id: sid, token: sp.tokens[k], offset: 0..<0, byteOffset: 0..<0, typeId: t,
            special: true, sequence: nil, word: nil)
        }
      }
    }
    out.overflowing = e.overflowing.map { wrap($0, which) }
    return out
  }
  var r = wrap(a, "A")
  if let b { r.merge(with: wrap(b, "B")) }
  return r
}

/// ByteLevel offset trimming: leading/trailing spaces leave the offsets.
private func trimOffsets(_ e: inout Encoding, _ addPrefixSpace: Bool) {
  for i in 0..<e.count { trimOne(&e, i, addPrefixSpace) }
  for k in e.overflowing.indices { trimOffsets(&e.overflowing[k], addPrefixSpace) }
}

private func trimOne(_ e: inout Encoding, _ i: Int, _ addPrefixSpace: Bool) {
  let scalars = Array(e.tokens[i].unicodeScalars)
  func isSp(_ s: Unicode.Scalar) -> Bool { s.value == 0x120 || s.properties.isWhitespace }
  var lead = 0
  while lead < scalars.count && isSp(scalars[lead]) { lead += 1 }
  var trail = 0
  while trail < scalars.count && isSp(scalars[scalars.count - 1 - trail]) { trail += 1 }
  if lead == 0 && trail == 0 { return }
  for pass in 0..<2 {
    var r = pass == 0 ? e.offsets[i] : e.byteOffsets[i]
    var s = r.lowerBound
    var t = r.upperBound
    var l = lead
    if l > 0 {
      if (i == 0 || s == 0) && addPrefixSpace && l == 1 { l = 0 }
      s = min(s + l, t)
    }
    if trail > 0 && t >= trail { t = max(t - trail, s) }
    r = s..<t
    if pass == 0 { e.offsets[i] = r } else { e.byteOffsets[i] = r }
  }
}
