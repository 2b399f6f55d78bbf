import LoomCore

/// What the seq2seq-LM heads (BART, T5, Switch, the Transformer) share: HF's label shifting
/// and the loss over labels with −100 ignored. `model` prefixes error messages.
public enum Seq2SeqLMHead {
  /// HF's `shift_tokens_right`: `start`, then `labels` [B, T] without the last column, −100
  /// replaced by `pad`. The caller has checked that `labels` is [B, T] with T > 0.
  public static func shiftRight(_ labels: Tensor, start: Int, pad: Int) -> Tensor {
    let (b, t) = (labels.shape[0], labels.shape[1])
    let src = labels.int64s
    var out = [Int64](repeating: 0, count: b * t)
    for r in 0..<b {
      out[r * t] = Int64(start)
      for c in 1..<t {
        let v = src[r * t + c - 1]
        out[r * t + c] = v == -100 ? Int64(pad) : v
      }
    }
    return Tensor(out, shape: [b, t])
  }

  /// The mean cross-entropy of `logits` [B, T, V] over `labels` [B, T] that are not −100,
  /// after checking that the shapes match and every label is in the vocabulary.
  public static func loss(logits: Tensor, labels: Tensor, vocabSize v: Int, model: String) throws
    -> Tensor
  {
    guard labels.shape == Array(logits.shape.dropLast()) else {
      throw LoomError(
        "\(model): labels have shape \(labels.shape), decoder_input_ids \(Array(logits.shape.dropLast())); they must match"
      )
    }
    if let bad = labels.int64s.first(where: { $0 != -100 && ($0 < 0 || $0 >= Int64(v)) }) {
      throw LoomError(
        "\(model): label \(bad) is outside the vocabulary (vocab_size \(v)); use -100 to ignore a position"
      )
    }
    return crossEntropy(logits.reshape([-1, v]), labels.to(device: logits.device).reshape([-1]))
  }
}
