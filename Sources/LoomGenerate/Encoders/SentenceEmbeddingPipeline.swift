import Foundation
import LoomCore
import LoomModels
import LoomTokenizers

/// `pipeline("feature-extraction")` reduced to one vector per text, as sentence-transformers'
/// `encode` computes it: tokenise (truncating to `maxSequenceLength`), run the encoder in
/// batches of similar-length texts, pool, and L2-normalise when asked.
public final class SentenceEmbeddingPipeline {
  public let parts: EncoderPipelineParts
  /// Pooling and normalisation (`SentenceEmbedding`).
  public var embedding: SentenceEmbedding
  /// Longer texts are truncated (sentence-transformers' max_seq_length).
  public var maxSequenceLength: Int

  public init(parts: EncoderPipelineParts, embedding: SentenceEmbedding = SentenceEmbedding()) {
    self.parts = parts
    self.embedding = embedding
    let limit = min(parts.model.maxSequenceLength, parts.tokenizer.modelMaxLength ?? Int.max)
    self.maxSequenceLength = min(embedding.maxSeqLength ?? limit, limit)
  }

  /// A model directory (any encoder: its base model is loaded) with the pooling its
  /// sentence-transformers files name (mean when none); `pooling` and `normalize` override them.
  public convenience init(directory: String, pooling: SentencePooling? = nil, normalize: Bool? = nil) throws {
    var embedding = try SentenceEmbedding(directory: directory)
    if let pooling { embedding.pooling = pooling }
    if let normalize { embedding.normalize = normalize }
    self.init(parts: try EncoderPipelineParts.load(.model, directory: directory), embedding: embedding)
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
    return embedding.pool(h, attentionMask: inputs.attentionMask)
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
