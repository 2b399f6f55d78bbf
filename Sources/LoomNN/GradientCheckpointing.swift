import LoomCore

/// Hugging Face's `gradient_checkpointing_enable()`: models whose block loops call
/// `checkpointed` (GPT-2 and the seed GPT, Llama, BLOOM, BERT, RoBERTa, DistilBERT)
/// recompute each block's activations in backward while training, keeping only the
/// block inputs. Losses and gradients are bit-identical to running without it.
extension Module {
  /// Turns checkpointing on for this module and every module below it.
  public func gradientCheckpointingEnable() { forEachModule { $0.gradientCheckpointing = true } }

  /// Turns it off again.
  public func gradientCheckpointingDisable() { forEachModule { $0.gradientCheckpointing = false } }

  /// HF's `is_gradient_checkpointing`: whether any module below has it on.
  public var isGradientCheckpointing: Bool { namedModules().contains { $0.1.gradientCheckpointing } }

  /// `body(x)` through `checkpoint` with this module's parameters when checkpointing is on,
  /// the module is training and a graph is being recorded (HF's
  /// `self.gradient_checkpointing and self.training`); otherwise `body(x)` directly.
  /// Callers pass `enabled: false` where a block must keep state (a KV cache).
  public func checkpointed(_ x: Tensor, enabled: Bool = true, _ body: @escaping (Tensor) -> Tensor) -> Tensor {
    guard enabled, gradientCheckpointing, training, GradMode.isEnabled else { return body(x) }
    return checkpoint({ body($0[0]) }, inputs: [x], parameters: parameters())
  }
}
