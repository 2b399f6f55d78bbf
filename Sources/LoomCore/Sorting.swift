/// Sorting, top-k and sampling.
extension Tensor {
  /// The k largest (or smallest) entries along `dim`, sorted, with their indices.
  public func topk(_ k: Int, dim: Int = -1, largest: Bool = true) -> (values: Tensor, indices: Tensor) {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "topk") }
    guard k >= 0 && k <= shape[d] else {
      opFailure(LoomError("topk: k = \(k) is out of range for dimension \(d) of size \(shape[d])"))
    }
    let order = (0..<rank).filter { $0 != d } + [d]
    let x = (dtype.isComputeType ? self : to(.float32)).detach().permute(order).contiguous()
    let cols = shape[d]
    let rows = x.count / Swift.max(cols, 1)
    var idxShape = x.shape
    idxShape[rank - 1] = k
    let indices = backend.topkIndices(x.reshape([rows, cols]), k: k, largest: largest).reshape(idxShape)
    var inverse = [Int](repeating: 0, count: rank)
    for (i, o) in order.enumerated() { inverse[o] = i }
    let idx = indices.permute(inverse).contiguous()
    return (gather(dim: d, index: idx), idx)
  }

  /// Sorted values and indices along `dim`.
  public func sort(dim: Int = -1, descending: Bool = false) -> (values: Tensor, indices: Tensor) {
    let d = validate { try Shape.normalize(dim: dim, rank: rank, op: "sort") }
    return topk(shape[d], dim: d, largest: descending)
  }

  /// Draws `numSamples` category indices per row from (unnormalised, non-negative)
  /// probabilities [C] or [N, C], like `torch.multinomial`.
  public func multinomial(numSamples: Int, replacement: Bool = false, generator: Generator = .global) -> Tensor {
    guard rank == 1 || rank == 2 else { opFailure(LoomError("multinomial: expected 1-D or 2-D probabilities, got \(shape)")) }
    let p2 = (rank == 1 ? unsqueeze(0) : self).detach().to(.float64).contiguous()
    guard replacement || numSamples <= p2.shape[1] else {
      opFailure(LoomError("multinomial: cannot draw \(numSamples) samples without replacement from \(p2.shape[1]) categories"))
    }
    let out = backend.multinomial(p2, numSamples: numSamples, replacement: replacement, generator: generator)
    return rank == 1 ? out.squeeze(0) : out
  }
}
