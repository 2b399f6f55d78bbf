import LoomCore

/// A preference pair as token ids, split where trl splits it: `promptIds` is the common
/// prefix of the tokenised prompt and both tokenised prompt + completion texts, so a merge
/// across the boundary leaves the merged token in the completions.
public struct TokenizedPreference: Equatable, Sendable {
  public var promptIds: [Int]
  public var chosenIds: [Int]
  public var rejectedIds: [Int]
  public var margin: Double?
  public var refChosenLogps: Double?
  public var refRejectedLogps: Double?

  public init(
    promptIds: [Int], chosenIds: [Int], rejectedIds: [Int], margin: Double? = nil,
    refChosenLogps: Double? = nil, refRejectedLogps: Double? = nil
  ) {
    self.promptIds = promptIds
    self.chosenIds = chosenIds
    self.rejectedIds = rejectedIds
    self.margin = margin
    self.refChosenLogps = refChosenLogps
    self.refRejectedLogps = refRejectedLogps
  }

  /// The whole chosen sequence (what the reward model scores).
  public var promptChosenIds: [Int] { promptIds + chosenIds }
  public var promptRejectedIds: [Int] { promptIds + rejectedIds }
}

/// trl's preference tokenisation (DPOTrainer / RewardTrainer `_prepare_dataset`): the eos
/// token's text is appended to each completion that does not end with it, then the prompt
/// and prompt + completion are tokenised as whole texts.
public struct PreferenceTokenizer {
  /// The tokenizer's call on a text (HF's `tokenizer(text)["input_ids"]`, special tokens included).
  public let encode: (String) throws -> [Int]
  /// The eos token's text (e.g. `<|endoftext|>`).
  public let eosToken: String

  public init(eosToken: String, encode: @escaping (String) throws -> [Int]) {
    self.eosToken = eosToken
    self.encode = encode
  }

  /// DPO's split: prompt ids, then each completion's ids (with eos). `maxPromptLength` is
  /// trl < 1.0's `max_prompt_length`: a longer prompt keeps its last tokens.
  public func tokenize(_ row: PreferenceRow, maxPromptLength: Int? = nil) throws -> TokenizedPreference {
    let chosen = row.chosen.hasSuffix(eosToken) ? row.chosen : row.chosen + eosToken
    let rejected = row.rejected.hasSuffix(eosToken) ? row.rejected : row.rejected + eosToken
    let prompt = try encode(row.prompt)
    let promptChosen = try encode(row.prompt + chosen)
    let promptRejected = try encode(row.prompt + rejected)
    let length = min(
      Self.commonPrefixLength(prompt, promptChosen), Self.commonPrefixLength(prompt, promptRejected))
    var promptIds = Array(prompt[..<length])
    if let m = maxPromptLength, promptIds.count > m { promptIds = Array(promptIds.suffix(m)) }
    return TokenizedPreference(
      promptIds: promptIds, chosenIds: Array(promptChosen[length...]),
      rejectedIds: Array(promptRejected[length...]), margin: row.margin,
      refChosenLogps: row.refChosenLogps, refRejectedLogps: row.refRejectedLogps)
  }

  /// Every row for DPO; rows whose prompt alone fills `maxLength` are dropped (trl's
  /// keep_start filter: truncation would leave no completion token). Throws when none is left.
  public func tokenizeForDPO(
    _ rows: [PreferenceRow], maxLength: Int?, maxPromptLength: Int? = nil, source: String
  ) throws -> [TokenizedPreference] {
    try Self.checkRefColumns(rows, source: source)
    let all = try rows.map { try tokenize($0, maxPromptLength: maxPromptLength) }
    let kept = maxLength.map { m in all.filter { $0.promptIds.count < m } } ?? all
    guard !kept.isEmpty else {
      throw LoomError(
        "\(source): every one of the \(rows.count) prompts has at least max_length \(maxLength ?? 0) tokens, leaving no completion tokens; raise --max-length or set --max-prompt-length"
      )
    }
    return kept
  }

  /// Every row for a reward model: prompt + completion as one text each (trl's explicit
  /// prompt case); pairs with a side longer than `maxLength` are dropped, as trl filters them.
  public func tokenizeForReward(_ rows: [PreferenceRow], maxLength: Int?, source: String) throws
    -> [TokenizedPreference]
  {
    guard !rows.isEmpty else { throw LoomError("\(source): no preference rows") }
    let all = try rows.map { row -> TokenizedPreference in
      let chosen = row.chosen.hasSuffix(eosToken) ? row.chosen : row.chosen + eosToken
      let rejected = row.rejected.hasSuffix(eosToken) ? row.rejected : row.rejected + eosToken
      return TokenizedPreference(
        promptIds: [], chosenIds: try encode(row.prompt + chosen),
        rejectedIds: try encode(row.prompt + rejected), margin: row.margin)
    }
    guard all.allSatisfy({ ($0.margin == nil) == (all[0].margin == nil) }) else {
      throw LoomError("\(source): 'margin' must be on every row or on none")
    }
    let kept = maxLength.map { m in all.filter { $0.chosenIds.count <= m && $0.rejectedIds.count <= m } } ?? all
    guard !kept.isEmpty else {
      throw LoomError(
        "\(source): all \(rows.count) pairs are longer than max_length \(maxLength ?? 0) tokens (trl drops those); raise --max-length"
      )
    }
    return kept
  }

  static func checkRefColumns(_ rows: [PreferenceRow], source: String) throws {
    let with = rows.filter { $0.refChosenLogps != nil }.count
    guard with == 0 || with == rows.count else {
      throw LoomError(
        "\(source): \(with) of \(rows.count) rows have ref_chosen_logps / ref_rejected_logps; give them on every row or on none")
    }
  }

  /// trl's `common_prefix_length`.
  public static func commonPrefixLength(_ a: [Int], _ b: [Int]) -> Int {
    var n = 0
    while n < a.count && n < b.count && a[n] == b[n] { n += 1 }
    return n
  }
}
