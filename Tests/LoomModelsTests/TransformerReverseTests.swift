import Foundation
import LoomCore
import LoomGenerate
import LoomModels
import LoomTrain
import XCTest

/// The original Transformer learns to reverse token sequences from scratch with the library
/// Trainer (a small version of scripts/quality/transformer_reverse.sh), judged by greedy
/// exact match on held-out sequences.
final class TransformerReverseTests: XCTestCase {
  override func setUp() {
    super.setUp()
    TestDevice.apply()
  }

  func testLearnsToReverseHeldOutSequences() throws {
    manualSeed(3)
    var config = TransformerConfig()
    (config.dModel, config.nhead, config.numEncoderLayers, config.numDecoderLayers) = (32, 4, 1, 1)
    (config.dimFeedforward, config.dropout, config.vocabSize) = (64, 0, 11)
    config.maxPositionEmbeddings = 8
    (config.padTokenId, config.bosTokenId, config.eosTokenId, config.decoderStartTokenId) = (0, 1, 2, 1)
    let model = try TransformerSeq2SeqLM(config)
    let test = try SyntheticSeq2SeqDataset(
      task: .reverse, count: 200, lengths: 2...5, tokens: 3..<11, pad: 0, eos: 2, seed: 7)
    let train = try SyntheticSeq2SeqDataset(
      task: .reverse, count: 4000, lengths: 2...5, tokens: 3..<11, pad: 0, eos: 2, seed: 8,
      excluding: Set(test.sources))
    XCTAssertTrue(Set(train.sources).isDisjoint(with: test.sources), "held out")
    let b = train.batch([0, 1])
    XCTAssertEqual(b.labels.shape[1], b.inputs.shape[1] + 1, "target + eos")

    let dir = NSTemporaryDirectory() + "transformer-reverse-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var args = TrainingArguments(outputDir: dir)
    (args.maxSteps, args.perDeviceTrainBatchSize, args.learningRate) = (1000, 32, 3e-3)
    (args.warmupSteps, args.loggingSteps, args.saveStrategy) = (30, 50, .no)
    var losses: [Double] = []
    let trainer = Trainer(
      model: model, args: args, trainDataset: train,
      computeLoss: { b in
        try! model.forward(
          inputIds: b.inputs, attentionMask: b[Batch.Key.attentionMask], labels: b.labels
        ).loss!
      })
    trainer.onLog = { if let l = $0["loss"] { losses.append(l) } }
    _ = try trainer.train()
    XCTAssertLessThan(losses.last!, losses.first! / 10, "loss falls: \(losses)")

    model.eval()
    var generation = GenerationConfig(defaultsOf: config)
    generation.maxNewTokens = 6
    let out = try Generation.generate(model, inputs: test.sources, config: generation)
    let exact = zip(out, test.sources.indices).filter {
      Generation.continuation($0.0, promptLength: 1, eosTokenIds: [2]) == test.target($0.1)
    }.count
    XCTAssertGreaterThanOrEqual(Double(exact) / Double(test.count), 0.95, "exact match \(exact)/200")
  }

  func testBadSyntheticDatasetsAreClearErrors() {
    XCTAssertThrowsError(
      try SyntheticSeq2SeqDataset(task: .sort, count: 100, lengths: 1...2, tokens: 3..<5, pad: 0, eos: 2, seed: 0)
    ) { XCTAssertTrue("\($0)".contains("too many for 6 possible"), "\($0)") }
    XCTAssertThrowsError(
      try SyntheticSeq2SeqDataset(task: .sort, count: 0, lengths: 1...2, tokens: 3..<5, pad: 0, eos: 2, seed: 0)
    ) { XCTAssertTrue("\($0)".contains("must be positive"), "\($0)") }
    XCTAssertEqual(SyntheticSeq2SeqDataset.Task.sort.target([5, 3, 4]), [3, 4, 5])
  }
}
