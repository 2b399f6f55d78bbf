import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomTrain
import XCTest

@testable import LoomPostTrain

/// The distillation loss and every student gradient against the seeds' compute_loss in
/// PyTorch (scripts/fixtures/make_distill_fixtures.py): DistilBERT classifiers, DistilBERT
/// masked LMs and GPT-2 causal LMs, with and without DistilBERT's cosine term.
final class DistillParityTests: XCTestCase {
  static let fixtures =
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path + "/distill"
  static let expected = try! SafeTensors.load(fixtures + "/expected.safetensors")

  func value(_ key: String) -> Double { Self.expected[key]!.to(.float64).doubles[0] }

  /// Loads the pair, runs the trainer's loss on the fixture batch, compares loss, parts and grads.
  func check(
    _ name: String, task: DistillationTask, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let teacher = try ModelRegistry.loadModel(
      task.autoTask, from: Self.fixtures + "/\(name)-teacher")
    let e = Self.expected
    let batch = Batch(
      [
        Batch.Key.inputIds: e["\(name).input_ids"]!,
        Batch.Key.attentionMask: e["\(name).attention_mask"]!,
        Batch.Key.labels: e["\(name).labels"]!,
      ], mainInputName: Batch.Key.inputIds)
    for (prefix, alphaCos) in [("", 0.0), ("cos_", 0.7)] {
      let student = try ModelRegistry.loadModel(
        task.autoTask, from: Self.fixtures + "/\(name)-student")
      var args = TrainingArguments(outputDir: NSTemporaryDirectory() + "loom-distill-parity")
      args.perDeviceTrainBatchSize = 3
      let trainer = try DistillationTrainer(
        model: student, teacher: teacher, task: task, args: args,
        trainDataset: OneBatch(fixed: batch),
        alphaCos: alphaCos)
      try trainer.checkCompatible(batch)
      student.train()
      let out = trainer.computeLoss(model: student, inputs: batch)
      XCTAssertEqual(
        out.loss.double().item(), value("\(name).\(prefix)loss"), accuracy: 1e-5,
        "\(name) \(prefix)loss", file: file, line: line)
      if prefix == "" {
        XCTAssertEqual(
          out.parts["ce_loss"]!.double().item(), value("\(name).ce"), accuracy: 1e-5, file: file,
          line: line)
        XCTAssertEqual(
          out.parts["kl_loss"]!.double().item(), value("\(name).kl"), accuracy: 1e-5, file: file,
          line: line)
        XCTAssertGreaterThan(value("\(name).kl"), 0.1, "the fixture's KL term must matter")
      } else {
        XCTAssertEqual(
          out.parts["cos_loss"]!.double().item(), value("\(name).cos"), accuracy: 1e-5, file: file,
          line: line)
      }
      out.loss.backward()
      var compared = 0
      for (param, t) in student.namedParameters() {
        guard let want = e["\(name).\(prefix)grad.\(param)"] else { continue }
        compared += 1
        guard let g = t.grad else {
          XCTFail("\(name): \(param) has no gradient", file: file, line: line)
          continue
        }
        XCTAssertEqual(g.shape, want.shape, param, file: file, line: line)
        let d = zip(g.floats, want.floats).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(d, 1e-5, "\(name) \(prefix)grad \(param)", file: file, line: line)
      }
      let count = e.keys.filter { $0.hasPrefix("\(name).\(prefix)grad.") }.count
      XCTAssertEqual(
        compared, count, "\(name): every PyTorch gradient has a Loom parameter", file: file,
        line: line)
      XCTAssertTrue(
        teacher.parameters().allSatisfy { $0.grad == nil && !$0.requiresGrad },
        "the teacher stays frozen")
    }
  }

  func testSequenceClassificationLossAndGradients() throws { try check("cls", task: .classify) }
  func testMaskedLMLossAndGradients() throws { try check("mlm", task: .mlm) }
  func testCausalLMLossAndGradients() throws { try check("lm", task: .causalLM) }
}

/// A dataset of one fixed batch.
struct OneBatch: TrainingDataset {
  let fixed: Batch
  var count: Int { fixed.count }
  func batch(_ indices: [Int]) -> Batch { fixed }
}
