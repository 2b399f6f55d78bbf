import LoomCore

extension PPOMath {
  /// Generalised advantage estimation over a rollout laid out [B, T] (row = sequence or environment, column =
  /// step), as trl's reverse loop: δ_t = r_t + γ·V_{t+1} − V_t, A_t = δ_t + γλ·A_{t+1}, returns = A + V.
  ///
  /// - `continues`: [B, T], 1 where the episode goes on after step t and 0 where it ended (1 − done); nil means
  ///   one episode per row that ends after the last column, which is trl's language-model case.
  /// - `bootstrapValues`: [B], V of the state after the last column (0 when nil, as in trl).
  /// Nothing here is differentiated (the targets are constants for the losses).
  public static func advantagesAndReturns(
    rewards: Tensor, values: Tensor, continues: Tensor? = nil, bootstrapValues: Tensor? = nil,
    gamma: Double, lam: Double
  ) -> (advantages: Tensor, returns: Tensor) {
    precondition(
      rewards.rank == 2 && rewards.shape == values.shape,
      "PPOMath.advantagesAndReturns: rewards \(rewards.shape) and values \(values.shape) must both be [B, T]"
    )
    return noGrad {
      let steps = rewards.shape[1]
      let rewards = rewards.detach()
      let values = values.detach()
      let continues = continues?.to(values.dtype).detach()
      var lastGaeLam: Tensor? = nil
      var reversed: [Tensor] = []
      reversed.reserveCapacity(steps)
      for t in stride(from: steps - 1, through: 0, by: -1) {
        var next: Tensor? =
          t < steps - 1 ? values.select(dim: 1, index: t + 1) : bootstrapValues?.detach()
        var carried = lastGaeLam
        if let continues {
          let c = continues.select(dim: 1, index: t)
          next = next.map { $0 * c }
          carried = carried.map { $0 * c }
        }
        var delta = rewards.select(dim: 1, index: t)
        if let next { delta = delta + next * gamma }
        delta = delta - values.select(dim: 1, index: t)
        let gae = carried.map { delta + $0 * (gamma * lam) } ?? delta
        reversed.append(gae)
        lastGaeLam = gae
      }
      let advantages = Tensor.stack(Array(reversed.reversed()), dim: 1)
      return (advantages, advantages + values)
    }
  }
}
