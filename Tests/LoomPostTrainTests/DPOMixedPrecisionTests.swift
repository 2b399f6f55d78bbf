import Foundation
import LoomCore
import LoomModels
import LoomNN
import LoomTrain
import XCTest

@testable import LoomPostTrain

/// DPO's training step runs the policy in eval mode (trl's disable_dropout) through the Trainer's
/// `lossAndBackward`, so `--bf16` / `--fp16` still put its forward under autocast.
final class DPOMixedPrecisionTests: XCTestCase {
  final class Recording: DPOTrainer {
    var seen: [DType?] = []
    override func computeLoss(model: Module, inputs: Batch) -> LossOutput {
      seen.append(Autocast.dtype)
      return super.computeLoss(model: model, inputs: inputs)
    }
  }

  func testDPOStepRunsUnderAutocastWithBF16() throws {
    for bf16 in [true, false] {
      var args = TrainingArguments(outputDir: NSTemporaryDirectory() + "loom-dpo-amp-\(UUID().uuidString)")
      args.bf16 = bf16
      let t = try Recording(
        model: try AutoModelForCausalLM.from(directory: PreferenceFixtures.policy),
        reference: .model(try AutoModelForCausalLM.from(directory: PreferenceFixtures.reference)),
        args: args, trainDataset: try PreferenceFixtures.dpoDataset())
      let batch = try PreferenceFixtures.dpoDataset().batch([0, 1])
      let out = try t.trainingStep(model: t.model, inputs: batch)
      XCTAssertEqual(t.seen, [bf16 ? .bfloat16 : nil])
      XCTAssertTrue(out.loss.item().isFinite)
      XCTAssertFalse(t.model.training, "DPO's step keeps dropout off")
      XCTAssertTrue(t.model.parameters().contains { $0.grad != nil })
    }
  }
}
