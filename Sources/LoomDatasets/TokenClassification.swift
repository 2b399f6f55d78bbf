import LoomTokenizers

extension Dataset {
  /// HF's `tokenize_and_align_labels` for token classification: each row's words
  /// (`tokensColumn`, a list of strings) are encoded as one text joined by spaces and every
  /// token is mapped to its word through the offsets, which gives HF's `word_ids()` for
  /// WordPiece and byte-level BPE alike. The word's label id (`labelsColumn`, ints, or
  /// strings through `labelNames`) goes to its first sub-token, −100 to the others and to
  /// special tokens (every sub-token with `labelAllTokens`). Adds `input_ids`,
  /// `attention_mask`, `token_type_ids`, `word_ids` (−1 for none) and `labels`.
  public func tokenizeAndAlignLabels(
    _ tokenizer: Tokenizer, tokensColumn: String = "tokens", labelsColumn: String = "ner_tags",
    labelNames: ClassLabel? = nil, maxLength: Int? = nil, labelAllTokens: Bool = false
  ) throws -> Dataset {
    let words = try column(tokensColumn).enumerated().map { i, v -> [String] in
      guard let l = v.list, let w = Optional(l.compactMap(\.string)), w.count == l.count else {
        throw DatasetError("column '\(tokensColumn)' row \(i): expected a list of words, found \(v)")
      }
      return w
    }
    let labels = try column(labelsColumn).enumerated().map { i, v -> [Int] in
      guard let l = v.list, l.count == words[i].count else {
        throw DatasetError(
          "column '\(labelsColumn)' row \(i): expected \(words[i].count) labels (one per word), found \(v)")
      }
      return try l.map { x in
        if let n = x.int { return n }
        guard let s = x.string, let names = labelNames ?? features[labelsColumn] else {
          throw DatasetError("column '\(labelsColumn)' row \(i): label \(x) needs label names")
        }
        do { return try names.str2int(s) } catch let e as DatasetError {
          throw DatasetError("column '\(labelsColumn)' row \(i): \(e.message)")
        }
      }
    }
    let saved = tokenizer.truncation, savedPadding = tokenizer.padding
    defer {
      tokenizer.truncation = saved
      tokenizer.padding = savedPadding
    }
    tokenizer.truncation = maxLength.map { Truncation(maxLength: $0) }
    tokenizer.padding = nil
    let encs = try tokenizer.encodeBatch(words.map { $0.joined(separator: " ") })
    var ids = [Value](), types = [Value](), mask = [Value](), wids = [Value](), labs = [Value]()
    for (r, e) in encs.enumerated() {
      // Word k spans characters [starts[k], starts[k] + count) of the joined text.
      var starts = [Int]()
      var c = 0
      for w in words[r] {
        starts.append(c)
        c += w.unicodeScalars.count + 1
      }
      var wordIds = [Int]()
      var prev = -1
      var lab = [Int]()
      for k in 0..<e.count {
        guard e.sequenceIds[k] != nil, e.specialTokensMask[k] == 0 else {
          wordIds.append(-1)
          lab.append(-100)
          prev = -1
          continue
        }
        // The last word starting at or before the token's first character.
        let o = e.offsets[k].lowerBound
        var lo = 0, hi = starts.count - 1
        while lo < hi {
          let mid = (lo + hi + 1) / 2
          if starts[mid] <= o { lo = mid } else { hi = mid - 1 }
        }
        wordIds.append(lo)
        lab.append(lo != prev || labelAllTokens ? labels[r][lo] : -100)
        prev = lo
      }
      ids.append(.ints(e.ids.map(Int.init)))
      types.append(.ints(e.typeIds.map(Int.init)))
      mask.append(.ints(e.attentionMask.map(Int.init)))
      wids.append(.ints(wordIds))
      labs.append(.ints(lab))
    }
    var d = try self.addingColumn("input_ids", ids)
    d = try d.addingColumn("token_type_ids", types)
    d = try d.addingColumn("attention_mask", mask)
    d = try d.addingColumn("word_ids", wids)
    return try d.addingColumn("labels", labs)
  }
}
