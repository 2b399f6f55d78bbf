import ArgumentParser
import LoomPostTrain

/// trl's `PPOConfig` fields as flags (trl's names with dashes), applied over a mode's defaults: the same group
/// serves `loom train ppo --env …` and the language-model mode.
struct PPOFlags: ParsableArguments {
  @Option(parsing: .unconditional, help: "PPO epochs over each rollout batch (trl: 4).")
  var numPpoEpochs: Int?
  @Option(parsing: .unconditional, help: "Mini-batches per rollout batch (trl: 1; --env: 4).")
  var numMiniBatches: Int?
  @Option(parsing: .unconditional, help: "Policy ratio clip range (0.2).") var cliprange: Double?
  @Option(parsing: .unconditional, help: "Value clip range around the rollout's values (0.2).")
  var cliprangeValue: Double?
  @Option(parsing: .unconditional, help: "Value loss coefficient (trl: 0.1; --env: 0.5).")
  var vfCoef: Double?
  @Option(parsing: .unconditional, help: "Discount factor (trl: 1.0; --env: 0.99).") var gamma:
    Double?
  @Option(parsing: .unconditional, help: "GAE lambda (0.95).") var lam: Double?
  @Option(
    parsing: .unconditional, help: "Per-token KL penalty coefficient (0.05; language models only).")
  var klCoef: Double?
  @Option(help: "KL estimator: k1 or k3 (k1; language models only).") var klEstimator: String?
  @Flag(help: "Whiten the per-token rewards before GAE (language models only).") var whitenRewards =
    false

  /// Flags given that only the language-model mode reads.
  var languageModelOnly: [String] {
    let given: [(Bool, String)] = [
      (klCoef != nil, "--kl-coef"), (klEstimator != nil, "--kl-estimator"),
      (whitenRewards, "--whiten-rewards"),
    ]
    return given.filter { $0.0 }.map { $0.1 }
  }

  /// `defaults` with every given flag applied, validated (errors name the flag).
  func config(defaults: PPOConfig) throws -> PPOConfig {
    var c = defaults
    if let v = numPpoEpochs { c.numPpoEpochs = v }
    if let v = numMiniBatches { c.numMiniBatches = v }
    if let v = cliprange { c.cliprange = v }
    if let v = cliprangeValue { c.cliprangeValue = v }
    if let v = vfCoef { c.vfCoef = v }
    if let v = gamma { c.gamma = v }
    if let v = lam { c.lam = v }
    if let v = klCoef { c.klCoef = v }
    if let v = klEstimator {
      guard let e = KLEstimator(rawValue: v) else {
        throw ValidationError("--kl-estimator must be k1 or k3, got '\(v)'")
      }
      c.klEstimator = e
    }
    if whitenRewards { c.whitenRewards = true }
    do { try c.validate(naming: Self.flag) } catch let e as PPOError {
      throw ValidationError(e.description)
    }
    return c
  }

  /// A config field's flag: kl_coef → --kl-coef.
  static func flag(_ field: String) -> String {
    "--" + field.replacingOccurrences(of: "_", with: "-")
  }
}
