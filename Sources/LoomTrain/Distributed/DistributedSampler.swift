import LoomCore

/// torch.utils.data.DistributedSampler's split of an epoch's order over `numReplicas` ranks:
/// the order is padded by repeating its start until every rank gets the same number of
/// samples (or, with `dropLast`, its tail is dropped), then rank r takes positions
/// r, r + R, r + 2R, … So batch i of every rank together hold the samples of batch i of
/// one process whose batch is R times larger.
public struct DistributedSampler: Sendable, Equatable {
  public let numReplicas: Int
  public let rank: Int
  public let dropLast: Bool

  public init(numReplicas: Int, rank: Int, dropLast: Bool = false) throws {
    guard numReplicas >= 1, (0..<numReplicas).contains(rank) else {
      throw LoomError("DistributedSampler: rank \(rank) is not in [0, \(numReplicas))")
    }
    self.numReplicas = numReplicas
    self.rank = rank
    self.dropLast = dropLast
  }

  /// Samples each rank gets from a dataset of `count`.
  public func numSamples(_ count: Int) -> Int {
    dropLast ? count / numReplicas : (count + numReplicas - 1) / numReplicas
  }

  /// This rank's part of an epoch's `order` (a permutation of the dataset's indices).
  public func indices(_ order: [Int]) -> [Int] {
    guard !order.isEmpty else { return [] }
    let total = numSamples(order.count) * numReplicas
    return stride(from: rank, to: total, by: numReplicas).map { order[$0 % order.count] }
  }
}
