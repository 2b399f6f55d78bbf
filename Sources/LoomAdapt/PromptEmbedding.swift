import LoomCore
import LoomNN

/// PEFT's `PromptEmbedding`: the trained virtual-token embeddings, `embedding.weight`
/// [num_virtual_tokens × num_transformer_submodules, token_dim].
public final class PromptEmbedding: Module {
  @Child public var embedding: Embedding
  /// What TEXT initialisation did to fit the text to the prompt (repeated or truncated), for the user.
  public private(set) var initNote: String?

  /// Initialises as `config.promptTuningInit` says (the config's sizes filled in). TEXT needs
  /// `tokenize` (the tokenizer at tokenizer_name_or_path, as AutoTokenizer would call it);
  /// TEXT and SAMPLE_VOCAB copy rows of `wordEmbeddings` (through its forward, as PEFT does).
  public init(
    config: PromptTuningConfig, wordEmbeddings: Embedding,
    tokenize: ((String) throws -> [Int])? = nil,
    generator: Generator = .global
  ) throws {
    let total = config.totalVirtualTokens
    let dim = config.tokenDim ?? wordEmbeddings.weight.shape[1]
    let table = Embedding(total, dim, generator: generator)  // N(0, 1): RANDOM
    let vocabulary = wordEmbeddings.weight.shape[0]
    var note: String?
    var ids: [Int]?
    if !config.inferenceMode {
      switch config.promptTuningInit {
      case .random: break
      case .sampleVocab:
        ids = (0..<total).map { _ in generator.nextInt(below: vocabulary) }
      case .text:
        guard let text = config.promptTuningInitText else {
          throw PromptTuningError(
            "prompt_tuning_init is TEXT but prompt_tuning_init_text is null; give the text")
        }
        guard let tokenize else {
          throw PromptTuningError(
            "prompt_tuning_init is TEXT: a tokenizer is needed (tokenizer_name_or_path \(config.tokenizerNameOrPath ?? "null"))"
          )
        }
        let fitted = try Self.fit(tokenize(text), total: total, text: text)
        ids = fitted.ids
        note = fitted.note
      }
    }
    if let ids {
      if let bad = ids.first(where: { !(0..<vocabulary).contains($0) }) {
        throw PromptTuningError(
          "prompt_tuning_init_text gives token id \(bad), outside the base model's vocabulary of \(vocabulary); use the base model's tokenizer"
        )
      }
      noGrad {
        let index = Tensor(
          ids.map { Int64($0) }, shape: [total], device: wordEmbeddings.weight.device)
        // Through the module, as PEFT calls word_embeddings(ids): BART's scaled embedding scales.
        let rows = wordEmbeddings(index).to(.float32)
        table.weight.copyIn(rows.to(device: table.weight.device))
      }
    }
    embedding = table
    initNote = note
    super.init()
  }

  /// PEFT's TEXT rule: the text's ids truncated to `total`, or repeated ⌈total / count⌉ times and cut.
  static func fit(_ textIds: [Int], total: Int, text: String) throws -> (ids: [Int], note: String?)
  {
    guard !textIds.isEmpty else {
      throw PromptTuningError(
        "prompt_tuning_init_text \"\(text)\" gives no tokens; give a non-empty text")
    }
    if textIds.count > total {
      return (
        Array(textIds.prefix(total)),
        "prompt_tuning_init_text has \(textIds.count) tokens, more than the \(total) virtual tokens: only the first \(total) initialise the prompt"
      )
    }
    let repeats = (total + textIds.count - 1) / textIds.count
    let ids = Array(Array(repeating: textIds, count: repeats).joined().prefix(total))
    let note =
      textIds.count < total
      ? "prompt_tuning_init_text has \(textIds.count) tokens for \(total) virtual tokens: repeated to fill them"
      : nil
    return (ids, note)
  }

  /// The prompt for `batch` rows: [batch, virtual tokens, token_dim] (a broadcast view; gradients sum
  /// over the rows into `embedding.weight`).
  public func prompts(batch: Int) -> Tensor {
    let w = embedding.weight
    return w.unsqueeze(0).expand([batch, w.shape[0], w.shape[1]])
  }
}
