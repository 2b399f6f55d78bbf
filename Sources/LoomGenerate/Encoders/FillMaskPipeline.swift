import Foundation
import LoomCore
import LoomModels
import LoomTokenizers

/// One candidate of `pipeline("fill-mask")`, with its keys.
public struct FillMaskCandidate: Equatable {
  /// Probability of the token at the masked position.
  public var score: Double
  /// Token id.
  public var token: Int
  /// The token decoded alone.
  public var tokenStr: String
  /// The input with the mask filled in.
  public var sequence: String

  /// `{"score", "token", "token_str", "sequence"}` as one JSON line.
  public var json: String {
    let object: [String: Any] = ["score": score, "token": token, "token_str": tokenStr, "sequence": sequence]
    let d = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: d, as: UTF8.self)
  }
}

/// Hugging Face's `pipeline("fill-mask")`: the top-k tokens for each mask token of a text,
/// best first, scored by the softmax of the masked-LM logits.
public final class FillMaskPipeline {
  public let parts: EncoderPipelineParts

  public init(parts: EncoderPipelineParts) { self.parts = parts }

  /// A directory with a masked-LM model and its tokenizer.
  public convenience init(directory: String, tokenizer: String? = nil) throws {
    self.init(parts: try EncoderPipelineParts.load(.maskedLM, directory: directory, tokenizer: tokenizer))
  }

  /// The mask token's text (`<mask>` for RoBERTa, `[MASK]` for BERT).
  public var maskToken: String { parts.tokenizer.specialTokens.mask ?? "<mask>" }

  /// One list of candidates per mask token in `text`, in text order (HF returns the inner
  /// list alone for a single mask). `topK` is capped at the vocabulary.
  public func callAsFunction(_ text: String, topK: Int = 5) throws -> [[FillMaskCandidate]] {
    guard topK >= 1 else { throw LoomError("fill-mask: top_k must be at least 1, got \(topK)") }
    let tok = parts.tokenizer
    guard let maskId = tok.maskTokenId else {
      throw LoomError("fill-mask: the tokenizer has no mask token; it cannot run fill-mask")
    }
    let enc = try tok.encode(text)
    let positions = enc.ids.indices.filter { enc.ids[$0] == maskId }
    guard !positions.isEmpty else {
      throw LoomError("fill-mask: no mask token (\(maskToken)) found in the input \"\(text)\"; put \(maskToken) where a word should be predicted")
    }
    try parts.checkLength(enc.ids.count, what: "fill-mask: the input")
    parts.model.eval()
    // [1, S, V]; scores from float32 logits, as HF's pipelines upcast a half model's.
    let logits = try noGrad { try parts.model.forward(parts.inputs([enc])).mainLogits }.to(.float32)
    let vocab = logits.shape[2]
    let k = min(topK, vocab)
    let single = positions.count == 1
    return positions.map { p in
      let probs = logits[0, p].softmax(dim: -1)
      let (values, indices) = probs.topk(k)
      return zip(values.toArray(Float.self), indices.int64s).map { score, id in
        var ids = enc.ids
        ids[p] = UInt32(id)
        if let pad = tok.padTokenId { ids.removeAll { $0 == pad } }
        return FillMaskCandidate(
          score: Double(score), token: Int(id), tokenStr: tok.decode([UInt32(id)], skipSpecialTokens: false),
          sequence: tok.decode(ids, skipSpecialTokens: single))
      }
    }
  }
}
