import LoomCore
import LoomNN

/// The seeds' distillation loss (the DistillationTrainer's `compute_loss`) and DistilBERT's
/// hidden-state cosine term, as functions of logits so they stand alone or serve the trainer.
public enum DistillationLoss {
  /// The seeds' defaults: α weighs the labels' cross-entropy, 1 − α the softened KL.
  public static let defaultAlpha = 0.5
  public static let defaultTemperature = 4.0

  /// T²·KL(softmax(teacher/T) ‖ softmax(student/T)) over rows of [N, C] logits:
  /// `nn.KLDivLoss(reduction="batchmean")(log_softmax(s/T), softmax(t/T)) · T²`, i.e. the
  /// per-row KL summed and divided by N. The teacher's logits take no gradient.
  public static func kl(student: Tensor, teacher: Tensor, temperature: Double) -> Tensor {
    let logP = (student / temperature).logSoftmax(dim: -1)
    let q = (teacher.detach() / temperature).softmax(dim: -1)
    return Loss.klDiv(logP, q, reduction: "batchmean") * (temperature * temperature)
  }

  /// The same over the tokens `keep` [B, S] marks (nonzero = kept) of [B, S, V] logits:
  /// batchmean over the kept rows, so the mean over kept tokens of their KL. Sequence
  /// classification logits [B, C] pass `keep: nil`.
  public static func kl(student: Tensor, teacher: Tensor, keep: Tensor?, temperature: Double)
    -> Tensor
  {
    guard let keep else { return kl(student: student, teacher: teacher, temperature: temperature) }
    let rows = keptRows(keep)
    return kl(
      student: select(student, rows), teacher: select(teacher, rows), temperature: temperature)
  }

  /// `nn.CosineEmbeddingLoss` with target 1 (mean of 1 − cos) between student and teacher
  /// hidden states [B, S, H] at the positions `keep` [B, S] marks, DistilBERT's `loss_cos`.
  public static func cosine(student: Tensor, teacher: Tensor, keep: Tensor?) -> Tensor {
    let s: Tensor
    let t: Tensor
    if let keep {
      let rows = keptRows(keep)
      (s, t) = (select(student, rows), select(teacher.detach(), rows))
    } else {
      let h = student.shape[student.rank - 1]
      (s, t) = (student.reshape([-1, h]), teacher.detach().reshape([-1, h]))
    }
    let target = Tensor.ones([s.shape[0]], device: s.device)
    return Loss.cosineEmbedding(s, t, target)
  }

  /// α·ce + (1 − α)·kl (+ alphaCos·cos): the seeds' total (`kl` already carries T²).
  public static func combine(ce: Tensor, kl: Tensor, cos: Tensor?, alpha: Double, alphaCos: Double)
    -> Tensor
  {
    let loss = ce * alpha + kl * (1 - alpha)
    guard let cos, alphaCos != 0 else { return loss }
    return loss + cos * alphaCos
  }

  /// Indices of the nonzero entries of a [B, S] mask, as positions in the flattened [B·S].
  static func keptRows(_ keep: Tensor) -> Tensor {
    let flags = keep.reshape([-1]).to(.float32).floats
    let rows = flags.indices.filter { flags[$0] != 0 }.map(Int64.init)
    return Tensor(rows, shape: [rows.count], device: keep.device)
  }

  /// Rows of [B, S, D] flattened to [B·S, D].
  static func select(_ x: Tensor, _ rows: Tensor) -> Tensor {
    let d = x.shape[x.rank - 1]
    return x.reshape([-1, d]).indexSelect(dim: 0, index: rows.to(device: x.device))
  }
}
