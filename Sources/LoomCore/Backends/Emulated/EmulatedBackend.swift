/// The `.emulated` device: memory the host may not touch (the CPU backend traps on it), with
/// every op delegated to the CPU kernels by copying inputs into CPU tensors and results back
/// into emulated storage, like PyTorch's test devices. Running models, optimizers and the
/// Trainer on it proves they reach tensor memory only through `Backend`: the seam a CUDA
/// backend plugs into. Slow by design; for tests.
public final class EmulatedBackend: Backend, @unchecked Sendable {
  public static let shared = EmulatedBackend()
  public var device: Device { .emulated }
  private let cpu = CPUBackend.shared

  /// A CPU copy of `t`'s storage seen through the same view (CPU tensors, e.g. 0-d scalars
  /// mixed into an op, pass through).
  func host(_ t: Tensor) -> Tensor {
    guard t.device == .emulated else { return t }
    let s = Storage(byteCount: t.storage.byteCount, device: .cpu)
    s.data.copyMemory(from: t.storage.deviceAddress, byteCount: t.storage.byteCount)
    return Tensor(storage: s, shape: t.shape, strides: t.strides, offset: t.offset, dtype: t.dtype)
  }

  func host(_ t: Tensor?) -> Tensor? { t.map { host($0) } }

  /// A CPU result moved into emulated storage with the same view.
  func device(_ t: Tensor) -> Tensor {
    let s = Storage(byteCount: t.storage.byteCount, device: .emulated)
    s.deviceAddress.copyMemory(from: t.storage.data, byteCount: t.storage.byteCount)
    return Tensor(storage: s, shape: t.shape, strides: t.strides, offset: t.offset, dtype: t.dtype)
  }

  func device(_ t: Tensor?) -> Tensor? { t.map { device($0) } }

  /// Copies the CPU copy `h` of an in-place op's target back into the target's storage.
  func writeBack(_ h: Tensor, into t: Tensor) {
    guard t.device == .emulated else { return }
    t.storage.deviceAddress.copyMemory(from: h.storage.data, byteCount: t.storage.byteCount)
  }

  // Memory.

  public func allocate(byteCount: Int) -> Storage { Storage(byteCount: byteCount, device: .emulated) }

  public func fill(_ t: Tensor, with value: Double) {
    let h = host(t)
    cpu.fill(h, with: value)
    writeBack(h, into: t)
  }

  public func upload(_ bytes: UnsafeRawBufferPointer, into t: Tensor) {
    let h = host(t)
    cpu.upload(bytes, into: h)
    writeBack(h, into: t)
  }

  public func download(_ t: Tensor, into bytes: UnsafeMutableRawBufferPointer) {
    cpu.download(host(t), into: bytes)
  }

  public func arange(start: Double, step: Double, into t: Tensor) {
    let h = host(t)
    cpu.arange(start: start, step: step, into: h)
    writeBack(h, into: t)
  }

  public func fillRandom(_ t: Tensor, _ distribution: RandomDistribution, seed: UInt64, offset: UInt64) {
    let h = host(t)
    cpu.fillRandom(h, distribution, seed: seed, offset: offset)
    writeBack(h, into: t)
  }

  public func copy(_ source: Tensor, into destination: Tensor) {
    let h = host(destination)
    cpu.copy(host(source), into: h)
    writeBack(h, into: destination)
  }

  public func convert(_ x: Tensor, to dtype: DType) -> Tensor { device(cpu.convert(host(x), to: dtype)) }

  // Elementwise.

  public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
    device(cpu.binary(op, host(a), host(b)))
  }

  public func compare(_ op: ComparisonOp, _ a: Tensor, _ b: Tensor) -> Tensor {
    device(cpu.compare(op, host(a), host(b)))
  }

  public func unary(_ op: UnaryOp, _ x: Tensor) -> Tensor { device(cpu.unary(op, host(x))) }

  public func unaryBackward(_ op: UnaryOp, input: Tensor, gradOutput: Tensor) -> Tensor? {
    device(cpu.unaryBackward(op, input: host(input), gradOutput: host(gradOutput)))
  }

  public func pow(_ x: Tensor, exponent: Double) -> Tensor { device(cpu.pow(host(x), exponent: exponent)) }

  public func leakyRelu(_ x: Tensor, negativeSlope: Double) -> Tensor {
    device(cpu.leakyRelu(host(x), negativeSlope: negativeSlope))
  }

  public func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
    device(cpu.select(host(condition), host(a), host(b)))
  }

  // Reductions.

  public func sum(_ x: Tensor, dims: [Int], keepDim: Bool) -> Tensor {
    device(cpu.sum(host(x), dims: dims, keepDim: keepDim))
  }

  public func maxLastDim(_ x: Tensor) -> (values: Tensor, indices: Tensor) {
    let r = cpu.maxLastDim(host(x))
    return (device(r.values), device(r.indices))
  }

  // Linear algebra.

  public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor { device(cpu.matmul(host(a), host(b))) }

  public func hasNativeMatmul(for dtype: DType) -> Bool { cpu.hasNativeMatmul(for: dtype) }

  public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, weightIsInputMajor: Bool) -> Tensor {
    device(cpu.linear(host(x), weight: host(weight), bias: host(bias), weightIsInputMajor: weightIsInputMajor))
  }

  // Fused ops.

  public func softmax(_ x: Tensor, log: Bool) -> Tensor { device(cpu.softmax(host(x), log: log)) }

  public func softmaxBackward(output: Tensor, gradOutput: Tensor, log: Bool) -> Tensor {
    device(cpu.softmaxBackward(output: host(output), gradOutput: host(gradOutput), log: log))
  }

  public func crossEntropy(_ logits: Tensor, targets: Tensor, ignoreIndex: Int, labelSmoothing: Double)
    -> (losses: Tensor, logSumExp: Tensor, validCount: Int)
  {
    let r = cpu.crossEntropy(
      host(logits), targets: host(targets), ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing)
    return (device(r.losses), device(r.logSumExp), r.validCount)
  }

  public func crossEntropyBackward(
    _ logits: Tensor, targets: Tensor, ignoreIndex: Int, labelSmoothing: Double, logSumExp: Tensor,
    rowGradients: Tensor
  ) -> Tensor {
    device(
      cpu.crossEntropyBackward(
        host(logits), targets: host(targets), ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing,
        logSumExp: host(logSumExp), rowGradients: host(rowGradients)))
  }

  public func binaryCrossEntropy(_ p: Tensor, _ t: Tensor) -> Tensor? {
    device(cpu.binaryCrossEntropy(host(p), host(t)))
  }

  public func binaryCrossEntropyBackward(_ p: Tensor, _ t: Tensor, gradOutput: Tensor) -> Tensor? {
    device(cpu.binaryCrossEntropyBackward(host(p), host(t), gradOutput: host(gradOutput)))
  }

  public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Double) -> (
    output: Tensor, mean: Tensor, rstd: Tensor
  ) {
    let r = cpu.layerNorm(host(x), weight: host(weight), bias: host(bias), eps: eps)
    return (device(r.output), device(r.mean), device(r.rstd))
  }

  public func layerNormBackward(
    _ gradOutput: Tensor, input: Tensor, weight: Tensor?, mean: Tensor, rstd: Tensor,
    needsWeightGrad: Bool, needsBiasGrad: Bool
  ) -> (input: Tensor, weight: Tensor?, bias: Tensor?) {
    let r = cpu.layerNormBackward(
      host(gradOutput), input: host(input), weight: host(weight), mean: host(mean), rstd: host(rstd),
      needsWeightGrad: needsWeightGrad, needsBiasGrad: needsBiasGrad)
    return (device(r.input), device(r.weight), device(r.bias))
  }

  public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Double) -> (output: Tensor, rstd: Tensor) {
    let r = cpu.rmsNorm(host(x), weight: host(weight), eps: eps)
    return (device(r.output), device(r.rstd))
  }

  public func rmsNormBackward(_ gradOutput: Tensor, input: Tensor, weight: Tensor?, rstd: Tensor) -> (
    input: Tensor, weight: Tensor?
  ) {
    let r = cpu.rmsNormBackward(host(gradOutput), input: host(input), weight: host(weight), rstd: host(rstd))
    return (device(r.input), device(r.weight))
  }

  public func attention(
    _ q: Tensor, _ k: Tensor, _ v: Tensor, keyMask: Tensor?, isCausal: Bool, scale: Double,
    dropout: AttentionDropout
  ) -> (output: Tensor, logSumExp: Tensor)? {
    guard
      let r = cpu.attention(
        host(q), host(k), host(v), keyMask: host(keyMask), isCausal: isCausal, scale: scale, dropout: dropout)
    else { return nil }
    return (device(r.output), device(r.logSumExp))
  }

  public func attentionBackward(
    _ q: Tensor, _ k: Tensor, _ v: Tensor, output: Tensor, logSumExp: Tensor, gradOutput: Tensor,
    keyMask: Tensor?, isCausal: Bool, scale: Double, dropout: AttentionDropout
  ) -> (q: Tensor, k: Tensor, v: Tensor) {
    let r = cpu.attentionBackward(
      host(q), host(k), host(v), output: host(output), logSumExp: host(logSumExp),
      gradOutput: host(gradOutput), keyMask: host(keyMask), isCausal: isCausal, scale: scale, dropout: dropout)
    return (device(r.q), device(r.k), device(r.v))
  }

  // Indexing.

  public func takeRows(_ x: Tensor, index: Tensor) -> Tensor { device(cpu.takeRows(host(x), index: host(index))) }

  public func addRows(_ base: Tensor, index: Tensor, source: Tensor) -> Tensor {
    device(cpu.addRows(host(base), index: host(index), source: host(source)))
  }

  public func takeColumns(_ x: Tensor, index: Tensor) -> Tensor {
    device(cpu.takeColumns(host(x), index: host(index)))
  }

  public func addColumns(_ base: Tensor, index: Tensor, source: Tensor) -> Tensor {
    device(cpu.addColumns(host(base), index: host(index), source: host(source)))
  }

  public func gatherLastDim(_ x: Tensor, index: Tensor) -> Tensor {
    device(cpu.gatherLastDim(host(x), index: host(index)))
  }

  public func scatterAdd(_ base: Tensor, dim: Int, index: Tensor, source: Tensor) -> Tensor {
    device(cpu.scatterAdd(host(base), dim: dim, index: host(index), source: host(source)))
  }

  // Sorting and sampling.

  public func topkIndices(_ x: Tensor, k: Int, largest: Bool) -> Tensor {
    device(cpu.topkIndices(host(x), k: k, largest: largest))
  }

  public func multinomial(_ weights: Tensor, numSamples: Int, replacement: Bool, generator: Generator)
    -> Tensor
  {
    device(cpu.multinomial(host(weights), numSamples: numSamples, replacement: replacement, generator: generator))
  }

  // Optimizer updates: in place, so every state tensor is written back.

  public func adamStep(param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, _ options: AdamStepOptions) {
    let (p, m, v) = (host(param), host(expAvg), host(expAvgSq))
    cpu.adamStep(param: p, grad: host(grad), expAvg: m, expAvgSq: v, options)
    writeBack(p, into: param)
    writeBack(m, into: expAvg)
    writeBack(v, into: expAvgSq)
  }

  public func quantize(_ weight: Tensor, as format: QuantizedWeightFormat) -> QuantizedWeight {
    cpu.quantize(host(weight), as: format).mapTensors { device($0) }
  }

  public func dequantize(_ weight: QuantizedWeight) -> Tensor {
    device(cpu.dequantize(weight.mapTensors { host($0) }))
  }

  public func quantizedLinear(_ x: Tensor, weight: QuantizedWeight, bias: Tensor?) -> Tensor {
    device(cpu.quantizedLinear(host(x), weight: weight.mapTensors { host($0) }, bias: host(bias)))
  }

  public func quantizeBlockwise(_ x: Tensor, blockSize: Int) -> (codes: Tensor, absmax: Tensor) {
    let (c, a) = cpu.quantizeBlockwise(host(x), blockSize: blockSize)
    return (device(c), device(a))
  }

  public func dequantizeBlockwise(codes: Tensor, absmax: Tensor, blockSize: Int) -> Tensor {
    device(cpu.dequantizeBlockwise(codes: host(codes), absmax: host(absmax), blockSize: blockSize))
  }

  public func sgdStep(param: Tensor, grad: Tensor, momentumBuffer: Tensor?, _ options: SGDStepOptions) {
    let (p, b) = (host(param), host(momentumBuffer))
    cpu.sgdStep(param: p, grad: host(grad), momentumBuffer: b, options)
    writeBack(p, into: param)
    if let b, let momentumBuffer { writeBack(b, into: momentumBuffer) }
  }

  public func adafactorStep(
    param: Tensor, grad: Tensor, rowVar: Tensor?, colVar: Tensor?, variance: Tensor?,
    _ options: AdafactorStepOptions
  ) {
    let (p, r, c, v) = (host(param), host(rowVar), host(colVar), host(variance))
    cpu.adafactorStep(param: p, grad: host(grad), rowVar: r, colVar: c, variance: v, options)
    writeBack(p, into: param)
    for (h, t) in [(r, rowVar), (c, colVar), (v, variance)] {
      if let h, let t { writeBack(h, into: t) }
    }
  }

  public func adam8bitStep(param: Tensor, grad: Tensor, state: QuantizedAdamState, _ options: AdamStepOptions) {
    let p = host(param)
    let s = [state.state1, state.state2, state.absmax1, state.absmax2].map { host($0) }
    let hs = try! QuantizedAdamState(
      state1: s[0], state2: s[1], absmax1: s[2], absmax2: s[3], count: param.count, blockSize: state.blockSize, device: .cpu)
    cpu.adam8bitStep(param: p, grad: host(grad), state: hs, options)
    writeBack(p, into: param)
    for (h, t) in zip([hs.state1, hs.state2, hs.absmax1, hs.absmax2], [state.state1, state.state2, state.absmax1, state.absmax2]) {
      writeBack(h, into: t)
    }
  }

  public func quantizeBlockwise(_ x: Tensor, code: Tensor, blockSize: Int) -> (codes: Tensor, absmax: Tensor) {
    let (q, a) = cpu.quantizeBlockwise(host(x), code: host(code), blockSize: blockSize)
    return (device(q), device(a))
  }

  public func dequantizeBlockwise(_ q: Tensor, absmax: Tensor, code: Tensor, blockSize: Int) -> Tensor {
    device(cpu.dequantizeBlockwise(host(q), absmax: host(absmax), code: host(code), blockSize: blockSize))
  }

  // Convolutions.

  public func convolution(_ x: Tensor, weight: Tensor, bias: Tensor?, _ geometry: ConvolutionGeometry) -> Tensor? {
    device(cpu.convolution(host(x), weight: host(weight), bias: host(bias), geometry))
  }

  public func convolutionBackwardData(_ gradOutput: Tensor, weight: Tensor, _ geometry: ConvolutionGeometry)
    -> Tensor?
  {
    device(cpu.convolutionBackwardData(host(gradOutput), weight: host(weight), geometry))
  }

  public func convolutionBackwardWeights(_ x: Tensor, gradOutput: Tensor, _ geometry: ConvolutionGeometry)
    -> Tensor?
  {
    device(cpu.convolutionBackwardWeights(host(x), gradOutput: host(gradOutput), geometry))
  }
}
