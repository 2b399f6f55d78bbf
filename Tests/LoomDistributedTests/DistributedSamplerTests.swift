import LoomCore
import LoomTrain
import XCTest

/// torch's DistributedSampler split, and the DataLoader's shards: batch i of every rank
/// together is batch i of one process with a batch R times larger.
final class DistributedSamplerTests: XCTestCase {
  func testPaddingAndDropLastAsTorch() throws {
    let order = [7, 3, 9, 0, 5, 1, 8, 2, 6, 4]  // 10 samples over 3 ranks
    // torch: total_size 12, padded with the order's start (7, 3); rank r takes r, r+3, …
    XCTAssertEqual(try DistributedSampler(numReplicas: 3, rank: 0).indices(order), [7, 0, 8, 4])
    XCTAssertEqual(try DistributedSampler(numReplicas: 3, rank: 1).indices(order), [3, 5, 2, 7])
    XCTAssertEqual(try DistributedSampler(numReplicas: 3, rank: 2).indices(order), [9, 1, 6, 3])
    // drop_last: 9 samples, 3 each; the tail (4) is dropped.
    XCTAssertEqual(try DistributedSampler(numReplicas: 3, rank: 2, dropLast: true).indices(order), [9, 1, 6])
    XCTAssertEqual(try DistributedSampler(numReplicas: 3, rank: 0, dropLast: true).numSamples(10), 3)
    XCTAssertEqual(try DistributedSampler(numReplicas: 3, rank: 0).numSamples(10), 4)
    // Fewer samples than ranks: the order repeats.
    XCTAssertEqual(try DistributedSampler(numReplicas: 4, rank: 3).indices([5, 6]), [6])
    XCTAssertThrowsError(try DistributedSampler(numReplicas: 2, rank: 2)) { error in
      XCTAssertTrue("\(error)".contains("rank 2 is not in [0, 2)"), "\(error)")
    }
  }

  func testShardedBatchesTogetherAreTheGlobalBatches() throws {
    let data = try CausalLMBlocks(tokens: Array(0..<48), blockSize: 2)  // 24 examples
    let global = try DataLoader(data, batchSize: 6, shuffle: true, seed: 3, prefetch: false)
    for epoch in 0..<2 {
      let whole = global.batchIndices(epoch: epoch)
      var union = Array(repeating: Set<Int>(), count: whole.count)
      for rank in 0..<3 {
        let shard = try DataLoader(
          data, batchSize: 2, shuffle: true, seed: 3, prefetch: false,
          sampler: DistributedSampler(numReplicas: 3, rank: rank))
        XCTAssertEqual(shard.count, 4)
        for (i, batch) in shard.batchIndices(epoch: epoch).enumerated() { union[i].formUnion(batch) }
      }
      XCTAssertEqual(union, whole.map(Set.init), "epoch \(epoch)")
    }
  }
}
