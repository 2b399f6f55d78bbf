import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomTrain
import XCTest

@testable import LoomPostTrain

/// The distillation pieces alone: the loss on hand-computed values, bad input, and the
/// DistilBERT-style student made from every other teacher layer.
final class DistillTests: XCTestCase {
  static let fixtures = DistillParityTests.fixtures

  func testKLMatchesAHandComputedValue() {
    // One row, two classes, T = 2: p = softmax([2, 0]/2), q = softmax([0, 2]/2).
    let s = Tensor([Float(2), 0], shape: [1, 2])
    let t = Tensor([Float(0), 2], shape: [1, 2])
    let p = [exp(1.0), 1].map { $0 / (exp(1.0) + 1) }
    let q = [1, exp(1.0)].map { $0 / (exp(1.0) + 1) }
    let want = 4 * (q[0] * log(q[0] / p[0]) + q[1] * log(q[1] / p[1]))
    XCTAssertEqual(
      DistillationLoss.kl(student: s, teacher: t, temperature: 2).item(), want, accuracy: 1e-6)
    XCTAssertEqual(
      DistillationLoss.kl(student: s, teacher: s, temperature: 4).item(), 0, accuracy: 1e-5)  // float32 rounding × T²
    // Token logits: only kept tokens count, and the mean is over them.
    let ls = Tensor([Float(2), 0, 5, 5], shape: [1, 2, 2])
    let lt = Tensor([Float(0), 2, -9, 9], shape: [1, 2, 2])
    let keep = Tensor([Int64(1), 0], shape: [1, 2])
    XCTAssertEqual(
      DistillationLoss.kl(student: ls, teacher: lt, keep: keep, temperature: 2).item(), want,
      accuracy: 1e-6)
    let combined = DistillationLoss.combine(
      ce: Tensor(scalar: Float(1)), kl: Tensor(scalar: Float(3)), cos: Tensor(scalar: Float(0.5)),
      alpha: 0.25, alphaCos: 2)
    XCTAssertEqual(combined.item(), 0.25 + 0.75 * 3 + 1, accuracy: 1e-6)
  }

  func testLogitSizesThatDifferAreAClearErrorBeforeTraining() throws {
    let teacher = try ModelRegistry.loadModel(.causalLM, from: Self.fixtures + "/lm-teacher")
    let student = try GPT2LMHeadModel(
      GPT2Config(
        vocabSize: 40, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2, bosTokenId: nil,
        eosTokenId: nil))
    let ids = Tensor([Int64](repeating: 5, count: 8), shape: [2, 4])
    let data = OneBatch(
      fixed: Batch(
        [Batch.Key.inputIds: ids, Batch.Key.labels: ids], mainInputName: Batch.Key.inputIds))
    var args = TrainingArguments(
      outputDir: NSTemporaryDirectory() + "loom-distill-\(UUID().uuidString)")
    args.maxSteps = 1
    let trainer = try DistillationTrainer(
      model: student, teacher: teacher, task: .causalLM, args: args, trainDataset: data)
    XCTAssertThrowsError(try trainer.train()) { e in
      let m = "\(e)"
      XCTAssertTrue(
        m.contains("[2, 4, 40]") && m.contains("[2, 4, 48]") && m.contains("vocab_size"), m)
    }
    XCTAssertEqual(trainer.state.globalStep, 0, "no step ran")
  }

  func testBadSettingsAndTasksAreClearErrors() throws {
    XCTAssertThrowsError(try DistillationTask(flag: "seq2seq")) {
      XCTAssertTrue("\($0)".contains("classify, causal-lm, mlm"), "\($0)")
    }
    XCTAssertEqual(try DistillationTask(flag: "causal-lm"), .causalLM)
    let teacher = try ModelRegistry.loadModel(
      .sequenceClassification, from: Self.fixtures + "/cls-teacher")
    let student = try ModelRegistry.loadModel(
      .sequenceClassification, from: Self.fixtures + "/cls-student")
    let ids = Tensor([Int64](repeating: 5, count: 4), shape: [1, 4])
    let data = OneBatch(
      fixed: Batch(
        [Batch.Key.inputIds: ids, Batch.Key.labels: Tensor([Int64(1)])],
        mainInputName: Batch.Key.inputIds))
    let args = TrainingArguments(outputDir: NSTemporaryDirectory() + "loom-distill-bad")
    XCTAssertThrowsError(
      try DistillationTrainer(
        model: student, teacher: teacher, task: .classify, args: args, trainDataset: data,
        alpha: 1.5)
    ) {
      XCTAssertTrue("\($0)".contains("alpha must be in [0, 1]"), "\($0)")
    }
    XCTAssertThrowsError(
      try DistillationTrainer(
        model: student, teacher: teacher, task: .classify, args: args, trainDataset: data,
        temperature: 0)
    ) {
      XCTAssertTrue("\($0)".contains("temperature must be positive"), "\($0)")
    }
    // A classifier asked to distil as a causal LM.
    let wrong = try DistillationTrainer(
      model: student, teacher: teacher, task: .causalLM, args: args, trainDataset: data)
    XCTAssertThrowsError(try wrong.checkCompatible(data.fixed)) {
      XCTAssertTrue("\($0)".contains("not a causal language model"), "\($0)")
    }
  }

  func testStudentFromEveryOtherTeacherLayer() throws {
    let out = NSTemporaryDirectory() + "loom-distill-student-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: out) }
    XCTAssertEqual(
      try StudentFromTeacher.write(teacher: Self.fixtures + "/cls-teacher", to: out), [0, 2])
    let config =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
    XCTAssertEqual(config["n_layers"] as? Int, 2)
    let teacher = try SafeTensors.load(Self.fixtures + "/cls-teacher/model.safetensors")
    let student = try ModelRegistry.loadModel(.sequenceClassification, from: out)
    let weights = Dictionary(uniqueKeysWithValues: student.namedParameters().map { ($0.0, $0.1) })
    let pairs = [
      (
        "distilbert.transformer.layer.1.attention.q_lin.weight",
        "distilbert.transformer.layer.2.attention.q_lin.weight"
      ),
      (
        "distilbert.transformer.layer.0.ffn.lin1.bias",
        "distilbert.transformer.layer.0.ffn.lin1.bias"
      ),
      (
        "distilbert.embeddings.word_embeddings.weight",
        "distilbert.embeddings.word_embeddings.weight"
      ),
      ("classifier.weight", "classifier.weight"),
    ]
    for (s, t) in pairs { XCTAssertEqual(weights[s]?.floats, teacher[t]?.floats, s) }
    XCTAssertNotEqual(
      weights["distilbert.transformer.layer.1.attention.q_lin.weight"]?.floats,
      teacher["distilbert.transformer.layer.1.attention.q_lin.weight"]?.floats)
    XCTAssertEqual(
      StudentFromTeacher.studentKey("transformer.h.3.attn.c_attn.weight", kept: [0, 2]), nil)
    XCTAssertEqual(
      StudentFromTeacher.studentKey("bert.encoder.layer.4.output.dense.bias", kept: [0, 2, 4]),
      "bert.encoder.layer.2.output.dense.bias")
    XCTAssertThrowsError(try StudentFromTeacher.write(teacher: out + "/missing", to: out + "/x")) {
      XCTAssertTrue("\($0)".contains("config.json"), "\($0)")
    }
  }
}
