import ArgumentParser
import Foundation
import LoomAdapt
import LoomCore
import LoomGenerate
import LoomModels

/// `loom generate` for an encoder–decoder model (BART), as HF's text2text-generation pipeline:
/// the prompt, with the tokenizer's special tokens, is the encoder input; the decoder starts
/// from decoder_start_token_id (then forced_bos_token_id when the config has one); the output
/// alone is printed, decoded with special tokens skipped. `--adapter` applies a LoRA or prompt-tuning
/// adapter in PEFT's layout.
extension GenerateCommand {
  func runSeq2Seq() throws {
    let (base, defaults) = try Generation.loadSeq2SeqLanguageModel(
      from: model, dtype: try LoadingDType(parsing: torchDType).resolve(for: model))
    let lm = try Self.applying(adapter: adapter, toSeq2Seq: base)
    lm.to(device: Device.default)
    lm.eval()
    let vocab = lm.vocabularySize
    let codec = try TextCodec.load(tokenizer ?? model, modelVocabSize: vocab)
    let ids: [Int]
    if case .hf(let t) = codec {
      ids = try t.encode(prompt, addSpecialTokens: true).ids.map(Int.init)
    } else {
      ids = try codec.encode(prompt)
    }
    guard !ids.isEmpty else {
      throw ValidationError(
        "the prompt encodes to no tokens, and the encoder needs at least one: give --prompt some text"
      )
    }
    if let bad = ids.first(where: { $0 >= vocab }) {
      throw ValidationError(
        "the tokenizer gives id \(bad), outside the model's vocab_size \(vocab): is --tokenizer the model's?"
      )
    }
    // A prompt-tuning adapter's virtual tokens take the first encoder positions.
    let virtual = (lm as? PromptTuningSeq2SeqLM)?.numVirtualTokens ?? 0
    guard ids.count + virtual <= lm.maxPositions else {
      throw ValidationError(
        "--prompt is \(ids.count) tokens with the tokenizer's special tokens\(virtual > 0 ? " after the adapter's \(virtual) virtual tokens" : ""), more than the model's max_position_embeddings (\(lm.maxPositions)): shorten it"
      )
    }
    if slidingWindow {
      throw ValidationError(
        "--sliding-window is for causal models: an encoder–decoder model's decoder stops at max_position_embeddings (\(lm.maxPositions))"
      )
    }
    let file = try GenerationConfigFile.load(directory: model)
    var g = try checkedSettings(over: defaults, file: file)
    if g.eosTokenIds.isEmpty { g.eosTokenIds = codec.eosTokenId.map { [$0] } ?? [] }
    g.padTokenId = g.padTokenId ?? g.eosTokenIds.first
    g.suppressTokens = codec.unusedIds(modelVocabSize: vocab)
    // Decoder tokens, the start token included (HF's max_length for encoder–decoder models).
    let request =
      g.maxNewTokens.map {
        "1 decoder start token + \(fieldName("max_new_tokens", file: file)) \($0) = \($0 + 1) decoder tokens"
      }
      ?? "\(fieldName("max_length", file: file)) \(g.maxLength!) decoder tokens"
    if (g.maxNewTokens.map { $0 + 1 } ?? g.maxLength!) > lm.maxPositions {
      throw ValidationError(
        "\(request) exceed the model's max_position_embeddings (\(lm.maxPositions)); lower \(fieldName(g.maxNewTokens != nil ? "max_new_tokens" : "max_length", file: file))"
      )
    }
    let streaming = stream && g.numBeams == 1 && g.numReturnSequences == 1
    var streamer = StreamPrinter(codec: codec)
    let outputs = try Generation.generate(lm, inputs: [ids], config: g) { _, token in
      if streaming { streamer.add(token) }
    }
    if streaming {
      streamer.finish()
      return
    }
    for (i, out) in outputs.enumerated() {
      if outputs.count > 1 { print("--- sequence \(i + 1) ---") }
      print(codec.decode(out))
    }
  }
}
