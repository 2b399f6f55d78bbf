// LoomPostTrain: the post-training methods trl users know — knowledge distillation, reward models,
// DPO and PPO (with its environments) — built on the factored Trainer, generation and PEFT.

/// The namespace for post-training defaults shared by the trainers in this module.
public enum PostTrain {
  /// trl's `-100` label that marks tokens excluded from losses (prompt and padding).
  public static let ignoreIndex = -100
}
