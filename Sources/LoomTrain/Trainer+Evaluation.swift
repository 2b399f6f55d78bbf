import Foundation
import LoomCore
import LoomNN

/// HF's `prediction_step` result: the batch's loss (nil without labels), logits (nil
/// when only the loss was asked for) and labels.
public typealias PredictionStepOutput = (loss: LossOutput?, logits: Tensor?, labels: Tensor?)

/// HF's `EvalLoopOutput`: stacked predictions and labels (nil when not collected),
/// prefixed metrics, and the number of examples.
public struct EvalLoopOutput {
  public var predictions: Tensor?
  public var labelIds: Tensor?
  public var metrics: [String: Double]
  public var numSamples: Int
}

/// Default implementations of the evaluation pieces (`Trainer`'s open methods call them).
extension Trainer {
  func defaultPredictionStep(model: Module, inputs: Batch, predictionLossOnly: Bool)
    -> PredictionStepOutput
  {
    let inputs = prepareInputs(inputs)
    let labels = inputs[Batch.Key.labels]
    return noGrad {
      // One forward pass gives both when the trainer has a loss-and-logits closure.
      if let lossAndLogitsFunction {
        let (loss, logits) = lossAndLogitsFunction(inputs)
        return (loss.detached(), predictionLossOnly ? nil : logits.detach(), labels)
      }
      let loss = labels == nil ? nil : computeLoss(model: model, inputs: inputs).detached()
      let logits = predictionLossOnly ? nil : logitsFunction?(inputs).detach()
      return (loss, logits, labels)
    }
  }

  func defaultEvaluationLoop(
    _ dataset: any TrainingDataset, description: String, predictionLossOnly: Bool,
    metricKeyPrefix prefix: String
  ) throws -> EvalLoopOutput {
    let loader = try DataLoader(
      dataset, batchSize: args.perDeviceEvalBatchSize, prefetch: args.dataloaderPrefetch)
    model.eval()
    // Sums stay on the device (float64, weighted by batch size) until the end.
    var lossSum: Tensor? = nil
    var partSums: [String: Tensor] = [:]
    // logging_nan_inf_filter: the same sums over the batches whose loss is finite ("" is the loss).
    var finiteSums: [String: (sum: Tensor, count: Tensor)] = [:]
    var n = 0
    var predictions: [Tensor] = []
    var labels: [Tensor] = []
    let batches = loader.epoch(0)
    for (indices, batch) in zip(batches.indices, batches) {
      let out = predictionStep(model: model, inputs: batch, predictionLossOnly: predictionLossOnly)
      let weight = Double(indices.count)
      if let loss = out.loss {
        let l = loss.loss.double() * weight
        lossSum = lossSum.map { $0 + l } ?? l
        for (k, v) in loss.parts {
          let p = v.double() * weight
          partSums[k] = partSums[k].map { $0 + p } ?? p
        }
        if args.loggingNanInfFilter {
          for (k, v) in [("", l)] + loss.parts.map({ ($0.key, $0.value.double() * weight) }) {
            let finite = (v - v) == 0.0
            let zero = Tensor.zeros(like: v)
            let (sum, count) = finiteSums[k] ?? (zero, zero)
            finiteSums[k] = (sum + Tensor.where(finite, v, zero), count + Tensor.where(finite, zero + weight, zero))
          }
        }
      }
      n += indices.count
      if let logits = out.logits {
        predictions.append(logits)
        if let l = out.labels { labels.append(l) }
      }
      callbackHandler.onPredictionStep(args, state, &control)
    }
    var metrics: [String: Double] = [:]
    var mean: Double? = nil
    /// The mean over every batch, or over the finite ones when filtering left some out and
    /// kept any (HF).
    func average(_ key: String, _ sum: Tensor) -> Double {
      if let f = finiteSums[key], case let count = f.count.item(), count > 0, count < Double(n) {
        return f.sum.item() / count
      }
      return sum.item() / Double(max(n, 1))
    }
    if let lossSum {
      let m = average("", lossSum)
      mean = m
      metrics[prefix + "_loss"] = m
      // exp of a token cross-entropy; meaningless for other losses (a VAE's, a classifier's).
      if isLanguageModel { metrics[prefix + "_perplexity"] = Foundation.exp(min(m, 700)) }
    }
    for (k, v) in partSums { metrics[prefix + "_" + k] = average(k, v) }
    let stacked = predictions.isEmpty ? nil : Tensor.cat(predictions)
    let stackedLabels = labels.isEmpty ? nil : Tensor.cat(labels)
    if let computeMetrics, !predictionLossOnly {
      let p = EvalPrediction(predictions: stacked, labelIds: stackedLabels, loss: mean ?? .nan)
      for (k, v) in computeMetrics(p) {
        metrics[k.hasPrefix(prefix + "_") ? k : prefix + "_" + k] = v
      }
    }
    return EvalLoopOutput(
      predictions: stacked, labelIds: stackedLabels, metrics: metrics, numSamples: n)
  }

  func defaultEvaluate() -> [String: Double] {
    guard let eval = evalDataset, eval.count > 0,
      let output = try? evaluationLoop(
        eval, description: "Evaluation", predictionLossOnly: computeMetrics == nil,
        metricKeyPrefix: "eval")
    else { return [:] }
    var metrics = output.metrics
    metrics["epoch"] = state.epoch
    metrics["step"] = Double(state.globalStep)
    return metrics
  }

  func defaultPredict(_ dataset: any TrainingDataset) throws -> (
    predictions: Tensor, labelIds: Tensor, metrics: [String: Double]
  ) {
    defer { model.train() }
    let output = try evaluationLoop(
      dataset, description: "Prediction", predictionLossOnly: false, metricKeyPrefix: "test")
    guard let predictions = output.predictions else {
      throw LoomError(
        "predict needs model outputs: build the Trainer with lossAndLogits (or predictionStep), or override predictionStep"
      )
    }
    guard let labels = output.labelIds else {
      throw LoomError("predict: the dataset's batches have no labels")
    }
    return (predictions, labels, output.metrics)
  }
}
