import Foundation
import LoomAdapt
import LoomCore
import LoomModels
import LoomNN
import LoomOptim
import LoomTokenizers
import XCTest

/// Prompt tuning learns classification-as-generation ("review: … label: positive/negative") with only
/// the prompt trained, the tiny GPT-2 frozen.
final class PromptTuningLearningTests: XCTestCase {
  func testLossFallsWhenOnlyThePromptTrains() throws {
    let dir = PromptTuningParityTests.baseDir
    let tokenizer = try Tokenizer.fromPretrained(dir)
    let tokenize = { (text: String) in try tokenizer.encode(text).ids.map(Int.init) }
    let base = try XCTUnwrap(try AutoModelForCausalLM.from(directory: dir) as? GPT2LMHeadModel)
    let frozenBefore = base.transformer.wte.weight.toArray(Float.self)
    let config = PromptTuningConfig(
      numVirtualTokens: 8, promptTuningInit: .text, promptTuningInitText: "classify the review:")
    let m = try PromptTuningCausalLM(
      base: base, config: config, tokenize: tokenize, generator: Generator(seed: 3))
    m.train()
    // Rows: the review's tokens scored −100, the label word's tokens scored; right-padded with −100.
    let reviews = [
      ("great film", "positive"), ("dull plot", "negative"), ("great plot", "positive"),
      ("dull film", "negative"),
    ]
    var rows: [([Int], [Int])] = []
    for (text, label) in reviews {
      let context = try tokenize("review: \(text). label:")
      let answer = try tokenize(" \(label)")
      rows.append((context + answer, [Int](repeating: -100, count: context.count) + answer))
    }
    let width = rows.map(\.0.count).max()!
    let ids = Tensor(
      rows.flatMap { r in (r.0 + [Int](repeating: 0, count: width - r.0.count)).map(Int64.init) },
      shape: [rows.count, width])
    let labels = Tensor(
      rows.flatMap { r in (r.1 + [Int](repeating: -100, count: width - r.1.count)).map(Int64.init)
      },
      shape: [rows.count, width])
    let mask = Tensor(
      rows.flatMap { r in
        [Int64](repeating: 1, count: r.0.count) + [Int64](repeating: 0, count: width - r.0.count)
      },
      shape: [rows.count, width])
    let opt = AdamW(m.trainableParameters, lr: 0.1, weightDecay: 0.01)
    var losses: [Double] = []
    for _ in 0..<30 {
      let loss = m.forward(inputIds: ids, attentionMask: mask, labels: labels).loss!
      loss.backward()
      opt.step()
      opt.zeroGrad()
      losses.append(loss.item())
    }
    // Measured: 30 steps take the label tokens' loss from 6.76 to 4.68 on this random base.
    print("prompt tuning losses: first \(losses[0]), last \(losses[29])")
    XCTAssertLessThan(losses[29], losses[0] * 0.75, "losses \(losses)")
    for w in stride(from: 5, to: 30, by: 5) {
      let before = losses[(w - 5)..<w].reduce(0, +)
      let after = losses[w..<(w + 5)].reduce(0, +)
      XCTAssertLessThan(after, before, "each 5 steps lower than the 5 before: \(losses)")
    }
    XCTAssertEqual(
      base.transformer.wte.weight.toArray(Float.self), frozenBefore, "the base does not move")
  }
}
