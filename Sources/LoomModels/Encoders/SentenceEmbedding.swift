import Foundation
import LoomCore
import LoomNN

/// How token states become one sentence vector (sentence-transformers' `Pooling`).
public enum SentencePooling: String, CaseIterable, Sendable {
  /// Mean over tokens where attention_mask is 1.
  case mean
  /// The first token's state.
  case cls
}

/// Sentence embeddings as sentence-transformers computes them: the encoder's last hidden
/// state, pooled, then (when asked) divided by its L2 norm.
public struct SentenceEmbedding {
  public var pooling: SentencePooling
  public var normalize: Bool
  /// sentence-transformers' max_seq_length (sentence_bert_config.json), when the directory has one.
  public var maxSeqLength: Int?

  public init(pooling: SentencePooling = .mean, normalize: Bool = true, maxSeqLength: Int? = nil) {
    self.pooling = pooling
    self.normalize = normalize
    self.maxSeqLength = maxSeqLength
  }

  /// Reads a sentence-transformers directory's 1_Pooling/config.json, modules.json (a
  /// Normalize module) and sentence_bert_config.json; a plain HF directory gives mean + normalise.
  public init(directory: String) throws {
    self.init()
    if let pool = try? ConfigFile.object(at: directory + "/1_Pooling/config.json") {
      if pool["pooling_mode_cls_token"] as? Bool == true {
        pooling = .cls
      } else if pool["pooling_mode_mean_tokens"] as? Bool == true {
        pooling = .mean
      } else {
        throw LoomError(
          "\(directory)/1_Pooling/config.json: only mean and cls pooling are supported (pooling_mode_mean_tokens or pooling_mode_cls_token)")
      }
    }
    if let data = FileManager.default.contents(atPath: directory + "/modules.json"),
      let modules = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
    {
      normalize = modules.contains { ($0["type"] as? String)?.hasSuffix(".Normalize") == true }
    }
    if let st = try? ConfigFile.object(at: directory + "/sentence_bert_config.json") {
      maxSeqLength = st["max_seq_length"] as? Int
    }
  }

  /// Pools [B, S, C] hidden states under a [B, S] mask into [B, C].
  public func pool(_ hidden: Tensor, attentionMask: Tensor?) -> Tensor {
    var x: Tensor
    switch pooling {
    case .cls:
      x = hidden.select(dim: 1, index: 0)
    case .mean:
      guard let attentionMask else {
        x = hidden.mean(dim: 1)
        break
      }
      let m = attentionMask.to(device: hidden.device).to(hidden.dtype).unsqueeze(-1)  // [B, S, 1]
      x = (hidden * m).sum(dim: 1) / m.sum(dim: 1).clamp(min: 1e-9)
    }
    if normalize {
      // F.normalize: x / max(‖x‖₂, 1e-12)
      x = x / x.square().sum(dim: -1, keepDim: true).sqrt().clamp(min: 1e-12)
    }
    return x
  }

  /// Embeddings [B, C] of a tokenized batch (no gradients, eval mode).
  public func encode(
    _ model: any EncoderModel, inputIds: Tensor, attentionMask: Tensor? = nil, tokenTypeIds: Tensor? = nil
  ) throws -> Tensor {
    let wasTraining = model.training
    model.eval()
    defer { model.train(wasTraining) }
    return try noGrad {
      let out = try model.forward(
        EncoderInputs(inputIds: inputIds, attentionMask: attentionMask, tokenTypeIds: tokenTypeIds))
      return pool(out.lastHiddenState!, attentionMask: attentionMask)
    }
  }
}
