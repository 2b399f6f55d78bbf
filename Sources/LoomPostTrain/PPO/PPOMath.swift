// PPO's core math as trl 1.x's `experimental.ppo.PPOTrainer` computes it, on `Tensor`s of any device.
//
// The API (every function is a static member of `PPOMath`; masks are 1/true where a position counts):
//   maskedMean(x, mask, dim:)                  trl `masked_mean` (whole tensor, or along a dim)
//   maskedVar(x, mask, unbiased:)              trl `masked_var` (Bessel's correction n/(n-1); throws on an empty mask)
//   maskedWhiten(x, mask, shiftMean:)          trl `masked_whiten` ((x - mean) * rsqrt(var + 1e-8))
//   responseMasks(sequenceLengths:length:)     trl's `padding_mask` / `padding_mask_p1` as keep-masks
//   klEstimate(logprobs:refLogprobs:estimator:) trl's per-token KL (k1 or k3); ×(−kl_coef) is the non-score reward
//   rolloutTargets(...)                        trl's steps 3–6: masking, rewards, optional reward whitening,
//                                              GAE, returns, whitened and masked advantages
//   advantagesAndReturns(rewards:values:...)   GAE's reverse loop over [B, T] (trl's when `continues` is nil;
//                                              environments pass 1 − done per step and a bootstrap value)
//   clippedPolicyLoss(...)                     ratio, pg_losses, pg_losses2, max, masked mean; clipfrac, approxkl
//   clippedValueLoss(...)                      0.5 · masked mean of max(squared errors); clipfrac
//   entropy(logits:)                           logsumexp − Σ softmax · logits over the last dim
// The losses keep autograd (call `backward()` on `loss`); the statistics are detached.
// `PPOConfig` holds trl's `PPOConfig` fields with its defaults. Language-model rollouts (value head, generation,
// reward models) live in the LM PPO trainer; `EnvironmentPPOTrainer` (Environments/) runs the same math on CartPole.
import LoomCore

/// Errors from PPO's math and configuration, phrased for the user who set the sizes.
public struct PPOError: Error, CustomStringConvertible, Equatable {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// Namespace for PPO's tensor math (see the file header for the list).
public enum PPOMath {}
