import Foundation
import LoomAdapt
import LoomCore
import LoomModels
import LoomNN
import LoomOptim
import LoomTrain
import XCTest

@testable import LoomPostTrain

/// DPOTrainer against trl 1.16's on the same batch (make_dpo_fixtures.py): sequence
/// log-probabilities with prompt masking, each loss type, every logged metric and the
/// gradients; the three kinds of reference; a reference with another vocabulary.
final class DPOParityTests: XCTestCase {
  override func setUp() { TestDevice.apply() }

  static let metricNames = [
    "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen",
    "logps/rejected", "logits/chosen", "logits/rejected", "entropy", "mean_token_accuracy",
  ]

  func trainer(_ config: DPOConfig, reference: DPOReference? = nil, dataset: PreferenceDataset? = nil) throws
    -> DPOTrainer
  {
    let policy = try AutoModelForCausalLM.from(directory: PreferenceFixtures.policy)
    let ref = try reference ?? .model(AutoModelForCausalLM.from(directory: PreferenceFixtures.reference))
    return try DPOTrainer(
      model: policy, reference: ref, config: config,
      args: TrainingArguments(outputDir: NSTemporaryDirectory() + "loom-dpo-\(UUID().uuidString)"),
      trainDataset: dataset ?? PreferenceFixtures.dpoDataset())
  }

  func testSequenceLogProbsMatchTrl() throws {
    let expected = try PreferenceFixtures.expected()["dpo"] as! [String: Any]
    let batch = try PreferenceFixtures.dpoDataset().batch([0, 1, 2, 3])
    for (dir, key) in [(PreferenceFixtures.policy, "logps"), (PreferenceFixtures.reference, "ref_logps")] {
      let model = try AutoModelForCausalLM.from(directory: dir)
      let out = noGrad {
        SequenceLogProbs.compute(
          model, inputIds: batch.inputIds!, attentionMask: batch.attentionMask,
          completionMask: batch[PreferenceKey.completionMask]!)
      }
      let got = out.logps.double().toArray(Double.self)
      for (i, (a, b)) in zip(got, doubles(expected[key])).enumerated() { assertClose(a, b, "\(key)[\(i)]") }
    }
  }

  /// trl's token metrics on a completion the policy itself chose greedily: every next token is
  /// the logits' argmax (accuracy 1), and the entropy sum is Σ −p·log p of the softmax computed
  /// here in double precision.
  func testTokenAccuracyAndEntropyOnAGreedyCompletion() throws {
    let model = try AutoModelForCausalLM.from(directory: PreferenceFixtures.policy)
    var ids: [Int64] = [5, 17, 3, 42]
    let prompt = ids.count
    for _ in 0..<6 {
      let logits = noGrad { model.logits(ids: Tensor(ids).reshape([1, ids.count]), attentionMask: nil, state: nil) }
      let last = logits[0, ids.count - 1].toArray(Double.self)
      ids.append(Int64(last.indices.max { last[$0] < last[$1] }!))
    }
    let input = Tensor(ids).reshape([1, ids.count])
    let completion = Tensor((0..<ids.count).map { Int64($0 >= prompt ? 1 : 0) }).reshape([1, ids.count])
    let out = noGrad { SequenceLogProbs.compute(model, inputIds: input, attentionMask: nil, completionMask: completion) }
    XCTAssertEqual(out.tokenCounts.item(), 6)
    XCTAssertEqual(out.top1Counts.item(), 6, "a greedy completion is all top-1")
    let logits = noGrad { model.logits(ids: input, attentionMask: nil, state: nil) }
    var entropy = 0.0
    for t in (prompt - 1)..<(ids.count - 1) {
      let row = logits[0, t].toArray(Double.self)
      let m = row.max()!
      let z = row.map { exp($0 - m) }.reduce(0, +)
      entropy -= row.map { exp($0 - m) / z * (($0 - m) - log(z)) }.reduce(0, +)
    }
    XCTAssertEqual(out.entropySums.item(), entropy, accuracy: 1e-4 * entropy)
    // Shifted by one token, the completion is no longer the argmax everywhere.
    var other = ids
    for i in prompt..<ids.count { other[i] = (ids[i] + 1) % 50 }
    let shifted = noGrad {
      SequenceLogProbs.compute(
        model, inputIds: Tensor(other).reshape([1, ids.count]), attentionMask: nil, completionMask: completion)
    }
    XCTAssertLessThan(shifted.top1Counts.item(), 6)
  }

  func testEachLossTypeAndMetricMatchTrl() throws {
    let expected = try PreferenceFixtures.expected()["dpo"] as! [String: Any]
    let grads = try PreferenceFixtures.grads()
    for type in DPOLossType.allCases {
      let t = try trainer(DPOConfig(lossType: type))
      t.policy.eval()
      let out = t.computeLoss(model: t.model, inputs: t.prepareInputs(t.trainDataset.batch([0, 1, 2, 3])))
      out.loss.backward()
      let e = expected[type.rawValue] as! [String: Any]
      assertClose(out.loss.item(), (e["loss"] as! NSNumber).doubleValue, "\(type) loss")
      let metrics = e["metrics"] as! [String: NSNumber]
      for name in Self.metricNames {
        assertClose(out.parts[name]!.item(), metrics[name]!.doubleValue, "\(type) \(name)")
      }
      XCTAssertEqual(Set(out.parts.keys), Set(Self.metricNames))
      let params = Dictionary(uniqueKeysWithValues: t.policy.namedParameters())
      for name in ["transformer.wte.weight", "transformer.h.0.attn.c_attn.weight", "transformer.h.1.mlp.c_proj.bias"] {
        let want = grads["dpo.\(type.rawValue).\(name)"]!.floats
        let got = params[name]!.grad!.floats
        let worst = zip(got, want).map { abs(Double($0) - Double($1)) }.max()!
        XCTAssertLessThanOrEqual(worst, 1e-5, "\(type) grad \(name)")
      }
    }
  }

  func testLabelSmoothingIsConservativeDPO() throws {
    let e = (try PreferenceFixtures.expected()["dpo"] as! [String: Any])["sigmoid_smoothed"] as! [String: NSNumber]
    var config = DPOConfig()
    config.labelSmoothing = e["label_smoothing"]!.doubleValue
    let t = try trainer(config)
    let out = noGrad { t.computeLoss(model: t.model, inputs: t.trainDataset.batch([0, 1, 2, 3])) }
    assertClose(out.loss.item(), e["loss"]!.doubleValue, "cDPO loss")
    XCTAssertThrowsError(try trainer(DPOConfig(labelSmoothing: 0.5)))
    XCTAssertThrowsError(try trainer(DPOConfig(beta: 0)))
  }

  /// Precomputed reference log-probabilities give the frozen reference's loss; the LoRA
  /// policy's own base (adapter off) is the reference, so at step 0 every reward is 0 and
  /// the sigmoid loss is log 2.
  func testPrecomputedAndAdapterDisabledReferences() throws {
    let reference = try AutoModelForCausalLM.from(directory: PreferenceFixtures.reference)
    let data = DPOTrainer.precomputeReferenceLogps(reference, dataset: try PreferenceFixtures.dpoDataset(), batchSize: 3)
    XCTAssertTrue(data.hasReferenceLogps)
    let pre = try trainer(DPOConfig(), reference: .precomputed, dataset: data)
    let frozen = try trainer(DPOConfig())
    let batch = data.batch([0, 1, 2, 3])
    let a = noGrad { pre.computeLoss(model: pre.model, inputs: batch) }
    let b = noGrad { frozen.computeLoss(model: frozen.model, inputs: batch) }
    assertClose(a.loss.item(), b.loss.item(), "precomputed vs frozen reference")
    XCTAssertThrowsError(try trainer(DPOConfig(), reference: .precomputed)) { error in
      XCTAssertTrue("\(error)".contains("ref_chosen_logps"))
    }

    let policy = try AutoModelForCausalLM.from(directory: PreferenceFixtures.policy)
    let peft = try getPeftModel(
      policy, LoraConfig(r: 2, fanInFanOut: true), modelType: "gpt2", generator: Generator(seed: 1))
    let t = try DPOTrainer(
      model: policy, reference: .adapterDisabled(peft), args: TrainingArguments(outputDir: NSTemporaryDirectory()),
      trainDataset: try PreferenceFixtures.dpoDataset())
    let out = noGrad { t.computeLoss(model: t.model, inputs: batch) }
    assertClose(out.loss.item(), log(2), "LoRA at init: loss log 2")
    XCTAssertEqual(out.parts["rewards/margins"]!.item(), 0, accuracy: 1e-6)
    // A trained adapter moves the policy away from its base; the reference does not move.
    for (name, p) in policy.namedParameters() where name.contains("lora_B") { p.setData(Tensor.full(p.shape, 0.05)) }
    let moved = noGrad { t.computeLoss(model: t.model, inputs: batch) }
    XCTAssertNotEqual(moved.parts["rewards/margins"]!.item(), 0, accuracy: 1e-6)
    let refOnly = noGrad { t.referenceLogps(batch) }.floats
    let base = try AutoModelForCausalLM.from(directory: PreferenceFixtures.policy)
    let baseLogps = noGrad {
      SequenceLogProbs.compute(
        base, inputIds: batch.inputIds!, attentionMask: batch.attentionMask, completionMask: batch[PreferenceKey.completionMask]!
      ).logps
    }.floats
    for (x, y) in zip(refOnly, baseLogps) { assertClose(Double(x), Double(y), "adapter-disabled reference") }
  }

  /// At the first step the policy equals its reference (z = 0): the sigmoid loss's gradient
  /// is β·σ(0)/2 per pair, not the zero that relu's and abs's subgradients at 0 would give.
  func testGradientWhenPolicyEqualsReference() throws {
    let x = Tensor([Float(0), 2, -3])
    x.requiresGrad = true
    logSigmoid(x).sum().backward()
    let want = [0.5, 1 / (1 + exp(2.0)), 1 / (1 + exp(-3.0))]
    for (g, w) in zip(x.grad!.floats, want) { XCTAssertEqual(Double(g), w, accuracy: 1e-6) }
    XCTAssertEqual(logSigmoid(Tensor([Float(-100), 0, 100])).floats, [-100, Float(-log(2.0)), 0])
    let policy = try AutoModelForCausalLM.from(directory: PreferenceFixtures.policy)
    let copy = try AutoModelForCausalLM.from(directory: PreferenceFixtures.policy)
    let same = try DPOTrainer(
      model: policy, reference: .model(copy), args: TrainingArguments(outputDir: NSTemporaryDirectory()),
      trainDataset: PreferenceFixtures.dpoDataset())
    let out = same.computeLoss(model: policy, inputs: same.trainDataset.batch([0, 1, 2, 3]))
    assertClose(out.loss.item(), log(2), "loss at policy = reference")
    out.loss.backward()
    XCTAssertGreaterThan(policy.parameters().compactMap { $0.grad?.abs().sum().item() }.reduce(0, +), 1e-3)
  }

  func testReferenceWithAnotherVocabularyIsAnError() throws {
    let other = try GPT2LMHeadModel(
      GPT2Config(vocabSize: 50, nPositions: 64, nEmbd: 16, nLayer: 1, nHead: 2, bosTokenId: nil, eosTokenId: nil),
      generator: Generator(seed: 3))
    XCTAssertThrowsError(try trainer(DPOConfig(), reference: .model(other))) { error in
      XCTAssertTrue("\(error)".contains("vocabulary of 50 tokens") && "\(error)".contains("300"), "\(error)")
    }
  }

  /// A few steps of DPO on the 4 pairs: the loss falls and metrics.jsonl has trl's names.
  func testTrainingLowersTheLossAndLogsTrlNames() throws {
    var args = TrainingArguments(outputDir: NSTemporaryDirectory() + "loom-dpo-train-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(atPath: args.outputDir) }
    args.maxSteps = 12
    args.perDeviceTrainBatchSize = 4
    args.learningRate = 1e-2
    args.loggingSteps = 1
    args.saveStrategy = .no
    args.lrSchedulerType = .constant
    let policy = try AutoModelForCausalLM.from(directory: PreferenceFixtures.policy)
    let reference = try AutoModelForCausalLM.from(directory: PreferenceFixtures.reference)
    let t = try DPOTrainer(
      model: policy, reference: .model(reference), args: args, trainDataset: PreferenceFixtures.dpoDataset())
    try t.train()
    let logs = t.state.logHistory.filter { $0["loss"] != nil }
    XCTAssertEqual(logs.count, 12)
    XCTAssertLessThan(logs.last!["loss"]!, logs.first!["loss"]! - 0.1)
    XCTAssertEqual(logs.last!["rewards/accuracies"], 1)
    let keys = try metricsKeys(args.outputDir + "/metrics.jsonl")
    for name in Self.metricNames { XCTAssertTrue(keys.contains(name), name) }
  }
}
