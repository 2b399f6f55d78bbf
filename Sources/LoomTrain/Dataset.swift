import LoomCore

/// Indexable examples the Trainer batches (HF's Dataset + data collator in one).
public protocol TrainingDataset {
  var count: Int { get }
  /// Collates the examples at `indices` into a batch.
  func batch(_ indices: [Int]) -> Batch
  /// The same during training epoch `epoch` (0-based), for datasets whose examples
  /// change per epoch (e.g. fresh noise for a denoising autoencoder). The default
  /// ignores the epoch. Called from the DataLoader's worker thread when prefetching.
  func batch(_ indices: [Int], epoch: Int) -> Batch
}

extension TrainingDataset {
  public func batch(_ indices: [Int], epoch: Int) -> Batch { batch(indices) }
}

/// Fixed-length blocks of a token stream for causal language modelling (HF's
/// `group_texts`): example i is tokens [i·L, (i+1)·L], inputs = labels (the model shifts).
public struct CausalLMBlocks: TrainingDataset {
  public let tokens: [Int32]
  public let blockSize: Int

  public init(tokens: [Int32], blockSize: Int) throws {
    guard blockSize >= 2 else { throw LoomError("block size must be >= 2, got \(blockSize)") }
    guard tokens.count >= blockSize else {
      throw LoomError("the corpus has \(tokens.count) tokens, fewer than one block of \(blockSize); use more text or a smaller block size")
    }
    self.tokens = tokens
    self.blockSize = blockSize
  }

  public var count: Int { tokens.count / blockSize }

  public func batch(_ indices: [Int]) -> Batch {
    var flat = [Int64]()
    flat.reserveCapacity(indices.count * blockSize)
    for i in indices {
      for j in (i * blockSize)..<((i + 1) * blockSize) { flat.append(Int64(tokens[j])) }
    }
    let t = Tensor(flat, shape: [indices.count, blockSize])
    return Batch([Batch.Key.inputIds: t, Batch.Key.labels: t])
  }
}

/// What `compute_metrics` receives: stacked model outputs and labels of the evaluation
/// set (nil without a prediction step), and the mean loss.
public struct EvalPrediction {
  public let predictions: Tensor?
  public let labelIds: Tensor?
  public let loss: Double
}
