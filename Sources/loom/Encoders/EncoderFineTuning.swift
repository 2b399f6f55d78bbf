import Foundation
import LoomAdapt
import LoomModels
import LoomTokenizers
import LoomTrain

/// The Trainer set-up `loom train classify`, `token-classify` and `qa` share (HF's
/// Trainer(model, args, train_dataset, eval_dataset, compute_metrics) with the tokenizer).
enum EncoderFineTuning {
  /// Without an evaluation set there is no per-epoch evaluation nor best-model reload.
  /// Checkpoints hold the tokenizer too; throughput counts examples.
  static func trainer(
    _ model: any EncoderModel, tokenizer tok: Tokenizer, args: inout TrainingArguments, train: CollatedDataset,
    eval: CollatedDataset?, metrics: @escaping (EvalPrediction) -> [String: Double],
    peft: PeftTraining? = nil, prompt: PromptTuningSequenceClassifier? = nil
  ) -> Trainer {
    if eval == nil {
      args.evalStrategy = .no
      args.loadBestModelAtEnd = false
    }
    let trainer = Trainer(
      model: model, args: args, trainDataset: train, evalDataset: eval,
      lossAndLogits: { b in
        let (loss, logits) = model.lossAndLogits(b.tensors)
        return (LossOutput(loss: loss), logits)
      },
      computeMetrics: metrics,
      saveModel: { m, dir in
        if let peft { try peft.saveCheckpoint(dir) } else { try m.savePretrained(to: dir) }
        // A prompt-tuned run: the wrapped state above (resume restores it) and PEFT's adapter.
        try prompt?.saveAdapter(to: dir)
        try tok.savePretrained(dir)
      })
    trainer.throughputUnit = .samples
    return trainer
  }

  /// Trains, then writes the final (with load_best_model_at_end, the best) model — or the
  /// adapter, see `PeftTraining.saveFinal` — and the tokenizer to output_dir.
  static func trainAndSave(
    _ trainer: Trainer, _ model: any EncoderModel, tokenizer tok: Tokenizer, peft: PeftTraining? = nil,
    labelsConfig: [String: Any]? = nil, prompt: PromptTuningSequenceClassifier? = nil
  ) throws {
    _ = try trainer.train()
    guard trainer.isWorldProcessZero() else { return }  // data parallel: rank 0 writes the results
    if let prompt {
      try prompt.saveAdapter(to: trainer.args.outputDir)
      try PeftTraining.writeLabelsConfig(labelsConfig, to: trainer.args.outputDir)
    } else if let peft {
      try peft.saveFinal(trainer.args.outputDir, labelsConfig: labelsConfig)
    } else {
      try model.savePretrained(to: trainer.args.outputDir)
    }
    try tok.savePretrained(trainer.args.outputDir)
  }
}
