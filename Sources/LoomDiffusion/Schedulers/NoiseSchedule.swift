import Foundation

/// diffusers' `beta_schedule` values.
public enum BetaSchedule: String, CaseIterable, Sendable {
  case linear
  case scaledLinear = "scaled_linear"
  case squaredcosCapV2 = "squaredcos_cap_v2"
  case sigmoid
}

/// The forward process's β_t, α_t = 1 − β_t and ᾱ_t = ∏ α_s, in float32 as diffusers builds them.
public struct NoiseSchedule: Sendable {
  public let betas: [Float]
  public let alphas: [Float]
  public let alphasCumprod: [Float]

  public init(config c: SchedulerConfig) {
    var betas: [Float]
    if let trained = c.trainedBetas {
      betas = trained.map { Float($0) }
    } else {
      let n = c.numTrainTimesteps
      switch c.betaSchedule {
      case .linear:
        betas = Self.torchLinspace(Float(c.betaStart), Float(c.betaEnd), n)
      case .scaledLinear:
        betas = Self.torchLinspace(Float(c.betaStart.squareRoot()), Float(c.betaEnd.squareRoot()), n).map { $0 * $0 }
      case .squaredcosCapV2:
        betas = Self.cosineBetas(n)
      case .sigmoid:
        let scale = Float(c.betaEnd - c.betaStart)
        let start = Float(c.betaStart)
        betas = Self.torchLinspace(-6, 6, n).map { 1 / (1 + Foundation.exp(-$0)) * scale + start }
      }
    }
    if c.rescaleBetasZeroSnr { betas = Self.rescaleZeroTerminalSNR(betas) }
    self.betas = betas
    alphas = betas.map { 1 - $0 }
    alphasCumprod = Self.cumprod(alphas)
  }

  /// torch.linspace in float32: from the start for the first half, from the end for the second.
  static func torchLinspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
    guard steps > 1 else { return steps == 1 ? [start] : [] }
    let step = (end - start) / Float(steps - 1)
    let half = steps / 2
    return (0..<steps).map { i in i < half ? start + step * Float(i) : end - step * Float(steps - i - 1) }
  }

  /// Improved-DDPM's cosine schedule (`betas_for_alpha_bar`, max β 0.999), in double then float32.
  static func cosineBetas(_ n: Int) -> [Float] {
    func alphaBar(_ t: Double) -> Double {
      let c = Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2)
      return c * c
    }
    return (0..<n).map { i in
      Float(min(1 - alphaBar(Double(i + 1) / Double(n)) / alphaBar(Double(i) / Double(n)), 0.999))
    }
  }

  /// torch.cumprod on float32 accumulates in double on the CPU.
  static func cumprod(_ xs: [Float]) -> [Float] {
    var acc = 1.0
    return xs.map { x in
      acc *= Double(x)
      return Float(acc)
    }
  }

  /// Zero terminal SNR (Lin et al. 2023, Algorithm 1), as diffusers' `rescale_zero_terminal_snr`.
  static func rescaleZeroTerminalSNR(_ betas: [Float]) -> [Float] {
    var sqrtBar = cumprod(betas.map { 1 - $0 }).map { $0.squareRoot() }
    let first = sqrtBar[0]
    let last = sqrtBar[sqrtBar.count - 1]
    let scale = first / (first - last)
    sqrtBar = sqrtBar.map { ($0 - last) * scale }
    let bar = sqrtBar.map { $0 * $0 }
    var alphas = [bar[0]]
    for i in 1..<bar.count { alphas.append(bar[i] / bar[i - 1]) }
    return alphas.map { 1 - $0 }
  }
}
