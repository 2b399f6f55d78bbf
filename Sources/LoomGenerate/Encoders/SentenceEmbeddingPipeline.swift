import Foundation
import LoomCore
import LoomModels
import LoomTokenizers

/// How token states become one sentence vector (sentence-transformers' `Pooling`).
public enum SentencePooling: String, CaseIterable, Sendable {
  /// Mean over the tokens the attention mask keeps (all-MiniLM's pooling).
  case mean
  /// The first token's state (`[CLS]` / `<s>`).
  case cls
}

/// `pipeline("feature-extraction")` reduced to one vector per text, as sentence-transformers'
/// `encode` computes it: tokenise (truncating to `maxSequenceLength`), run the encoder in
/// batches of similar-length texts, pool, and L2-normalise when asked.
public final class SentenceEmbeddingPipeline {
  public let parts: EncoderPipelineParts
  public var pooling: SentencePooling
  public var normalize: Bool
  /// Longer texts are truncated (sentence-transformers' max_seq_length).
  public var maxSequenceLength: Int

  public init(parts: EncoderPipelineParts, pooling: SentencePooling = .mean, normalize: Bool = true, maxSequenceLength: Int? = nil) {
    self.parts = parts
    self.pooling = pooling
    self.normalize = normalize
    let limit = min(parts.model.maxSequenceLength, parts.tokenizer.modelMaxLength ?? Int.max)
    self.maxSequenceLength = min(maxSequenceLength ?? limit, limit)
  }

  /// A model directory (any encoder: its base model is loaded); sentence_bert_config.json's
  /// max_seq_length applies when the directory has one.
  public convenience init(directory: String, pooling: SentencePooling = .mean, normalize: Bool = true) throws {
    let parts = try EncoderPipelineParts.load(.model, directory: directory)
    var maxLength: Int?
    if let d = FileManager.default.contents(atPath: directory + "/sentence_bert_config.json"),
      let json = try? JSONSerialization.jsonObject(with: d) as? [String: Any]
    {
      maxLength = json["max_seq_length"] as? Int
    }
    self.init(parts: parts, pooling: pooling, normalize: normalize, maxSequenceLength: maxLength)
  }

  /// One vector per text, in input order.
  public func callAsFunction(_ texts: [String], batchSize: Int = 32) throws -> [[Float]] {
    guard batchSize >= 1 else { throw LoomError("embeddings: batch size must be at least 1, got \(batchSize)") }
    let tok = parts.tokenizer
    let encoded = try tok(texts, truncation: .longestFirst, maxLength: maxSequenceLength).encodings
    // Longest first, like sentence-transformers, so batches pad little.
    let order = encoded.indices.sorted { encoded[$0].ids.count > encoded[$1].ids.count }
    var out = [[Float]](repeating: [], count: texts.count)
    parts.model.eval()
    let padId = tok.padTokenId ?? 0
    for start in stride(from: 0, to: order.count, by: batchSize) {
      let idx = Array(order[start..<min(start + batchSize, order.count)])
      let width = idx.map { encoded[$0].ids.count }.max() ?? 0
      let rows = idx.map { Self.padded(encoded[$0], to: width, padId: padId) }
      let inputs = try parts.inputs(rows)
      let vectors = try noGrad { try embed(inputs) }
      let flat = vectors.floats
      let dim = vectors.shape[1]
      for (r, i) in idx.enumerated() { out[i] = Array(flat[r * dim..<(r + 1) * dim]) }
    }
    return out
  }

  /// [B, C] sentence vectors of one batch.
  func embed(_ inputs: EncoderInputs) throws -> Tensor {
    guard let h = try parts.model.forward(inputs).lastHiddenState else {
      throw LoomError("embeddings: \(type(of: parts.model)) returned no hidden states")
    }
    var v: Tensor
    switch pooling {
    case .cls:
      v = h.select(dim: 1, index: 0)
    case .mean:
      let m = inputs.attentionMask!.to(device: h.device).to(.float32).unsqueeze(-1)  // [B, S, 1]
      v = (h * m).sum(dim: 1) / m.sum(dim: 1).clamp(min: 1e-9)
    }
    if normalize { v = v / (v * v).sum(dim: -1, keepDim: true).sqrt().clamp(min: 1e-12) }
    return v
  }

  /// Right padding with the pad id and a zero mask.
  static func padded(_ e: Encoding, to width: Int, padId: UInt32) -> Encoding {
    var e = e
    let extra = width - e.ids.count
    guard extra > 0 else { return e }
    e.ids += Array(repeating: padId, count: extra)
    e.typeIds += Array(repeating: 0, count: extra)
    e.attentionMask += Array(repeating: 0, count: extra)
    return e
  }
}
