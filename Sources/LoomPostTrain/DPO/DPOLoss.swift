import LoomCore

/// trl's `loss_type` values Loom implements.
public enum DPOLossType: String, CaseIterable, Sendable {
  /// −log σ(β·Δ) (the DPO paper), with cDPO's label smoothing ε when ε > 0.
  case sigmoid
  /// max(0, 1 − β·Δ) (SLiC).
  case hinge
  /// (Δ̄ − 1/(2β))², Δ̄ the difference of per-token averaged log-ratios (IPO, as trl normalises it).
  case ipo

  public init(parsing s: String) throws {
    guard let t = DPOLossType(rawValue: s) else {
      throw LoomError(
        "unknown DPO loss type '\(s)': use \(Self.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    self = t
  }
}

/// trl's `DPOConfig` settings that shape the loss.
public struct DPOConfig: Sendable {
  /// β: the strength of the KL penalty to the reference (IPO's τ).
  public var beta: Double = 0.1
  public var lossType = DPOLossType.sigmoid
  /// cDPO's ε for the sigmoid loss: the chance a label is flipped. trl 1.x keeps it for its
  /// `robust`/`exo_pair` losses only; trl 0.x's sigmoid loss used it this way.
  public var labelSmoothing: Double = 0
  /// trl's `max_length` (1024): longer sequences are truncated, keeping their start.
  public var maxLength: Int? = 1024
  /// trl < 1.0's `max_prompt_length` (nil: prompts are not cut separately).
  public var maxPromptLength: Int? = nil

  public init(beta: Double = 0.1, lossType: DPOLossType = .sigmoid, labelSmoothing: Double = 0) {
    self.beta = beta
    self.lossType = lossType
    self.labelSmoothing = labelSmoothing
  }

  public func validate() throws {
    guard beta > 0, beta.isFinite else { throw LoomError("DPO beta must be positive, got \(beta)") }
    guard (0..<0.5).contains(labelSmoothing) else {
      throw LoomError("DPO label_smoothing must be in [0, 0.5), got \(labelSmoothing)")
    }
    if let m = maxLength, m < 2 { throw LoomError("DPO max_length must be at least 2, got \(m)") }
    if let m = maxPromptLength, m < 1 { throw LoomError("DPO max_prompt_length must be at least 1, got \(m)") }
  }
}

/// log σ(x), computed as min(x, 0) − log(1 + e^−|x|) so it neither overflows nor loses
/// precision for large |x|. min(x, 0) is written (x − |x|) / 2: at x = 0 (the first DPO step,
/// policy = reference) relu's and abs's zero subgradients would otherwise give a zero
/// gradient instead of σ(0) = 1/2.
public func logSigmoid(_ x: Tensor) -> Tensor {
  (x - x.abs()) * 0.5 - ((-x.abs()).exp() + 1).log()
}

public enum DPOLoss {
  /// Per-pair losses [B] from policy and reference log-probabilities of the chosen and
  /// rejected completions; `chosenTokens` / `rejectedTokens` (completion lengths) are used by IPO.
  public static func perPair(
    _ config: DPOConfig, chosenLogps: Tensor, rejectedLogps: Tensor, refChosenLogps: Tensor,
    refRejectedLogps: Tensor, chosenTokens: Tensor, rejectedTokens: Tensor
  ) -> Tensor {
    let chosenRatios = chosenLogps - refChosenLogps
    let rejectedRatios = rejectedLogps - refRejectedLogps
    let beta = config.beta
    switch config.lossType {
    case .sigmoid:
      let z = (chosenRatios - rejectedRatios) * beta
      let eps = config.labelSmoothing
      return eps == 0 ? -logSigmoid(z) : -logSigmoid(z) * (1 - eps) - logSigmoid(-z) * eps
    case .hinge:
      return (1 - (chosenRatios - rejectedRatios) * beta).relu()
    case .ipo:
      let delta = chosenRatios / chosenTokens.clamp(min: 1) - rejectedRatios / rejectedTokens.clamp(min: 1)
      return (delta - 1 / (2 * beta)).square()
    }
  }
}
