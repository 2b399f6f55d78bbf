import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN

/// A prompt-tuned encoder–decoder LM, as PEFT 0.21.2's `PeftModelForSeq2SeqLM` computes it: the
/// first `num_virtual_tokens` rows of the prompt go in front of the encoder's input embeddings and the
/// encoder's attention mask gains ones for them; the decoder, its mask and the labels are unchanged.
/// PEFT sizes the prompt for two submodules (2n rows) by default for SEQ_2_SEQ_LM but reads only the
/// first n (the other n never train), and Loom keeps that layout so the files match. The base is
/// frozen; only `prompt_encoder.default.embedding.weight` trains. Generation encodes prompt + input
/// once; the decoder then runs as usual.
public final class PromptTuningSeq2SeqLM: Module, Seq2SeqLanguageModel {
  @Child public var base_model: Module
  /// PEFT's ModuleDict of adapters; Loom keeps the one named "default".
  @Child public var prompt_encoder: [String: PromptEmbedding]
  /// The config with the base's sizes filled in (what adapter_config.json gets).
  public internal(set) var peftConfig: PromptTuningConfig
  private let _lm: any InputEmbeddingsSeq2SeqLM

  /// `get_peft_model(base, config)` for SEQ_2_SEQ_LM (`tokenize` for TEXT init).
  public init(
    base: Module & InputEmbeddingsSeq2SeqLM, config: PromptTuningConfig,
    tokenize: ((String) throws -> [Int])? = nil, generator: Generator = .global
  ) throws {
    let resolved = try PromptTuningCausalLM.resolve(config, for: base, task: .seq2SeqLM)
    if let limit = base.maxEncoderPositions, resolved.numVirtualTokens >= limit {
      throw PromptTuningError(
        "num_virtual_tokens \(resolved.numVirtualTokens) leaves no encoder position of the base's \(limit) (max_position_embeddings) for the input"
      )
    }
    let prompt = try PromptEmbedding(
      config: resolved, wordEmbeddings: base.inputEmbeddings, tokenize: tokenize, generator: generator)
    base.freeze()
    base_model = base
    prompt_encoder = ["default": prompt]
    peftConfig = resolved
    _lm = base
    super.init()
  }

  public var prompt: PromptEmbedding { prompt_encoder["default"]! }
  public var numVirtualTokens: Int { peftConfig.numVirtualTokens }
  /// The parameters that train (the prompt); everything in the base is frozen.
  public var trainableParameters: [Tensor] { [prompt.embedding.weight] }

  /// The encoder's input: the prompt's first n rows, then the embedded `inputIds` [B, S] →
  /// [B, n + S, D]; the mask [B, n + S] when one is given.
  func promptedInputs(_ inputIds: Tensor, attentionMask: Tensor?) throws -> (embeds: Tensor, mask: Tensor?) {
    guard inputIds.rank == 2, inputIds.shape[0] > 0, inputIds.shape[1] > 0 else {
      throw LoomError("prompt tuning: input_ids must be [batch, sequence] and non-empty, got shape \(inputIds.shape)")
    }
    let vocabulary = _lm.inputEmbeddings.weight.shape[0]
    if let bad = inputIds.int64s.first(where: { $0 < 0 || $0 >= Int64(vocabulary) }) {
      throw LoomError("prompt tuning: input_ids holds token \(bad), outside the base's vocabulary of \(vocabulary)")
    }
    if let m = attentionMask, m.shape != inputIds.shape {
      throw LoomError("prompt tuning: attention_mask has shape \(m.shape) but input_ids \(inputIds.shape); they must match")
    }
    let b = inputIds.shape[0]
    let words = _lm.inputEmbeddings(inputIds.to(device: _lm.inputEmbeddings.weight.device))
    let n = numVirtualTokens
    let prompts = prompt.prompts(batch: b).slice(dim: 1, start: 0, end: n).to(words.dtype)
    let mask = attentionMask.map { m in
      Tensor.cat([Tensor.ones([m.shape[0], n], dtype: m.dtype, device: m.device), m], dim: 1)
    }
    return (Tensor.cat([prompts, words], dim: 1), mask)
  }

  /// PEFT's forward with labels: the base's loss (Switch's router losses included) and logits [B, T, V].
  public func seq2seqForward(
    inputIds: Tensor, attentionMask: Tensor?, decoderInputIds: Tensor?,
    decoderAttentionMask: Tensor?, labels: Tensor
  ) throws -> Seq2SeqLMOutput {
    let (embeds, mask) = try promptedInputs(inputIds, attentionMask: attentionMask)
    return try _lm.seq2seqForward(
      inputsEmbeds: embeds, attentionMask: mask, decoderInputIds: decoderInputIds,
      decoderAttentionMask: decoderAttentionMask, labels: labels)
  }

  // MARK: EncoderDecoderModel

  public var vocabularySize: Int { _lm.vocabularySize }
  public var maxPositions: Int { _lm.maxPositions }
  public var decoderStartTokenId: Int { _lm.decoderStartTokenId }

  public func encode(ids: Tensor, attentionMask: Tensor?) -> GenerationState {
    do {
      let (embeds, mask) = try promptedInputs(ids, attentionMask: attentionMask)
      return try _lm.encode(inputsEmbeds: embeds, attentionMask: mask)
    } catch { fatalError("Loom: \(error)") }
  }

  public func decode(ids: Tensor, state: GenerationState) -> Tensor { _lm.decode(ids: ids, state: state) }
}

/// PEFT's files for a SEQ_2_SEQ_LM prompt-tuning adapter (the causal LM's layout: adapter_config.json
/// and `prompt_embeddings` [n × num_transformer_submodules, token_dim]).
extension PromptTuningSeq2SeqLM {
  /// `save_pretrained` into `directory` (created when missing), each file written atomically.
  public func saveAdapter(to directory: String) throws {
    try PromptTuningCausalLM.writeAdapter(config: peftConfig, prompt: prompt.embedding.weight, to: directory)
  }

  /// `PeftModel.from_pretrained(base, directory)`: the adapter PEFT (or Loom) saved, checked against
  /// the base. The prompt trains when `isTrainable`; the base stays frozen either way.
  public static func fromPretrained(
    base: Module & InputEmbeddingsSeq2SeqLM, adapterDirectory directory: String, isTrainable: Bool = false
  ) throws -> PromptTuningSeq2SeqLM {
    var config = try PromptTuningConfig.load(directory: directory)
    config.inferenceMode = true  // no initialisation: the weights come from the file
    let model: PromptTuningSeq2SeqLM
    do { model = try PromptTuningSeq2SeqLM(base: base, config: config) } catch let e as PromptTuningError {
      throw PromptTuningError("\(directory)/\(PromptTuningCausalLM.configFile): \(e.message)")
    }
    let path = (directory as NSString).appendingPathComponent(PromptTuningCausalLM.weightsFile)
    try PromptTuningCausalLM.loadPrompt(
      from: try SafeTensorsFile(path: path), path: path, into: model.prompt.embedding.weight,
      expected: [model.peftConfig.totalVirtualTokens, model.peftConfig.tokenDim!])
    model.prompt.embedding.weight.requiresGrad = isTrainable
    model.peftConfig.inferenceMode = !isTrainable
    return model
  }
}
