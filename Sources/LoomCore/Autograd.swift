/// Whether ops record history. Off inside `noGrad {}` and during a plain backward;
/// on during a `createGraph` backward so gradients are themselves differentiable.
public enum GradMode {
  nonisolated(unsafe) public internal(set) static var isEnabled = true

  /// Runs `body` with recording set to `enabled`, restoring the previous mode.
  public static func with<R>(_ enabled: Bool, _ body: () throws -> R) rethrows -> R {
    let previous = isEnabled
    isEnabled = enabled
    defer { isEnabled = previous }
    return try body()
  }
}

/// Runs `body` without recording autograd history (like `torch.no_grad()`).
public func noGrad<R>(_ body: () throws -> R) rethrows -> R {
  try GradMode.with(false, body)
}

/// Runs `body` with recording on, even inside `noGrad` (like `torch.enable_grad()`).
public func enableGrad<R>(_ body: () throws -> R) rethrows -> R {
  try GradMode.with(true, body)
}

/// One recorded op: its inputs and a closure mapping the output's gradient to the
/// inputs' gradients. Backward closures are written with Tensor ops, so running them
/// with recording on builds the graph of the gradient (second-order gradients).
final class Node {
  let name: String
  /// Set for `slice` views: lets backward write the gradient straight into its region of
  /// the input's gradient instead of materialising a zero-padded copy per slice.
  var slice: (dim: Int, start: Int, step: Int)?
  /// Set for row gathers (`indexSelect` along dim 0, embeddings): lets backward add the rows
  /// straight into a gradient buffer the input already has instead of a zeroed [V, C] copy.
  var rowIndex: Tensor?
  private(set) var inputs: [Tensor]
  /// (gradient of output, the output itself) -> gradient of each input (nil = none).
  private var backwardFn: ((Tensor, Tensor) -> [Tensor?])?

  init(name: String, inputs: [Tensor], backward: @escaping (Tensor, Tensor) -> [Tensor?]) {
    self.name = name
    self.inputs = inputs
    self.backwardFn = backward
  }

  var isReleased: Bool { backwardFn == nil }

  func apply(gradient: Tensor, output: Tensor) -> [Tensor?] {
    guard let fn = backwardFn else {
      opFailure(
        LoomError(
          "backward: trying to backward through the graph a second time (through \(name)); "
            + "the saved tensors were freed after the first backward. "
            + "Pass retainGraph: true to the first backward if you need to do this."))
    }
    return fn(gradient, output)
  }

  /// Frees the saved tensors and the edges to the inputs.
  func release() {
    backwardFn = nil
    inputs = []
  }
}

extension Tensor {
  /// Records `output` as produced by an op over `inputs` when any input needs grad.
  /// Returns `output` for chaining.
  @discardableResult
  func recorded(
    _ name: String, inputs: [Tensor], backward: @escaping (Tensor, Tensor) -> [Tensor?]
  ) -> Tensor {
    guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return self }
    requiresGrad = true
    gradFn = Node(name: name, inputs: inputs, backward: backward)
    return self
  }

  /// Name of the op that produced this tensor ("" for leaves).
  public var gradFnName: String { gradFn?.name ?? "" }

  /// Reverse-mode backward from this tensor.
  /// - Parameters:
  ///   - gradient: upstream gradient (defaults to 1 for a one-element tensor).
  ///   - retainGraph: keep saved tensors so backward can run again.
  ///   - createGraph: record the backward ops, making gradients differentiable.
  public func backward(
    _ gradient: Tensor? = nil, retainGraph: Bool = false, createGraph: Bool = false
  ) {
    guard requiresGrad else {
      opFailure(
        LoomError(
          "backward: tensor of shape \(shape) does not require grad and has no grad_fn "
            + "(call requiringGrad() on the inputs, and run outside noGrad)"))
    }
    let seed: Tensor
    if let gradient {
      guard gradient.shape == shape else {
        opFailure(
          LoomError(
            "backward: gradient shape \(gradient.shape) does not match tensor shape \(shape)"))
      }
      seed = gradient
    } else {
      guard count == 1 else {
        opFailure(
          LoomError(
            "backward: grad can be implicitly created only for one-element outputs, got shape \(shape)"
          ))
      }
      seed = Tensor.ones(shape, dtype: dtype, device: device)
    }
    _ = runBackward(
      roots: [(self, seed)], retainGraph: retainGraph || createGraph, createGraph: createGraph)
  }
}

/// Topologically ordered backward over the recorded graph.
func runBackward(
  roots: [(Tensor, Tensor)], retainGraph: Bool, createGraph: Bool, capture: [Tensor] = []
)
  -> [Tensor?]
{
  // Iterative DFS post-order over tensors that have a grad_fn.
  // Captured tensors are treated as leaves: gradients stop there.
  let stopIDs = Set(capture.map { ObjectIdentifier($0) })
  var order: [Tensor] = []
  var visited = Set<ObjectIdentifier>()
  var stack: [(Tensor, Int)] = []
  for (root, _) in roots where !visited.contains(ObjectIdentifier(root)) {
    visited.insert(ObjectIdentifier(root))
    stack.append((root, 0))
    while let (t, i) = stack.popLast() {
      let inputs = stopIDs.contains(ObjectIdentifier(t)) ? [] : (t.gradFn?.inputs ?? [])
      if i < inputs.count {
        stack.append((t, i + 1))
        let child = inputs[i]
        if child.requiresGrad && !visited.contains(ObjectIdentifier(child)) {
          visited.insert(ObjectIdentifier(child))
          stack.append((child, 0))
        }
      } else {
        order.append(t)
      }
    }
  }

  let captureIDs = stopIDs
  var captured: [ObjectIdentifier: Tensor] = [:]
  var grads: [ObjectIdentifier: Tensor] = [:]
  var sliceGradients = SliceGradientAccumulator()
  for (root, seed) in roots {
    let id = ObjectIdentifier(root)
    grads[id] = grads[id].map { $0 + seed } ?? seed
  }

  GradMode.with(createGraph) {
    for t in order.reversed() {
      let id = ObjectIdentifier(t)
      sliceGradients.settle(id, grads: grads)
      guard var g = grads.removeValue(forKey: id) else { continue }
      if captureIDs.contains(id) {
        captured[id] = g
        continue
      }
      guard let node = t.gradFn else {
        // A leaf: accumulate into .grad (unless gradients are only being captured).
        if capture.isEmpty {
          t.accumulateGrad(&g, keepGraph: createGraph)
          // Every path into a leaf is summed before it is visited: this backward's part of
          // its gradient is final (data parallelism starts reducing it now).
          for hook in t.postAccumulateGradHooks { hook(t) }
        }
        continue
      }
      if t.retainsGrad && capture.isEmpty { t.accumulateGrad(&g, keepGraph: createGraph) }
      if !createGraph, let info = node.slice, let input = node.inputs.first {
        // Slices of one tensor (split q/k/v, chunks) fill one gradient buffer.
        if input.requiresGrad { sliceGradients.add(g, at: info, into: input, grads: &grads) }
        if !retainGraph { node.release() }
        continue
      }
      if !createGraph, let index = node.rowIndex, let input = node.inputs.first, input.requiresGrad,
        sliceGradients.addRows(g, at: index, into: input, grads: &grads)
      {
        if !retainGraph { node.release() }
        continue
      }
      let inputGrads = node.apply(gradient: g, output: t)
      let inputs = node.inputs
      if !retainGraph { node.release() }
      for (input, ig0) in zip(inputs, inputGrads) {
        guard let ig0, input.requiresGrad else { continue }
        // A gradient has its input's dtype (torch's engine casts in validate_outputs): a half
        // op's float32-computed gradient is rounded, a cast's gradient is widened.
        let ig = ig0.dtype != input.dtype && ig0.dtype.isFloatingPoint && input.dtype.isFloatingPoint
          ? ig0.to(input.dtype) : ig0
        precondition(
          ig.shape == input.shape,
          "Loom internal: \(node.name) backward gave gradient shape \(ig.shape) for input \(input.shape)"
        )
        let iid = ObjectIdentifier(input)
        if grads[iid] != nil {
          sliceGradients.settle(iid, grads: grads)
          var existing = grads.removeValue(forKey: iid)!
          if !createGraph && (sliceGradients.owns(iid) || Tensor.isPrivateGradientBuffer(&existing)) {
            // A buffer nothing else sees (a sum made here, or a fresh op output): add in
            // place, as PyTorch's InputBuffer does, instead of a third buffer of this size.
            existing.backend.accumulate(ig, into: existing)
            grads[iid] = existing
          } else {
            grads[iid] = existing + ig
          }
          sliceGradients.adopt(iid)
        } else {
          grads[iid] = ig
          sliceGradients.disown(iid)
        }
      }
    }
  }
  return capture.map { captured[ObjectIdentifier($0)] }
}

extension Tensor {
  func accumulateGrad(_ g: inout Tensor, keepGraph: Bool) {
    if let existing = grad {
      grad = keepGraph ? existing + g : noGrad { existing + g.detach() }
    } else if keepGraph {
      grad = g
    } else if isKnownUniquelyReferenced(&g) && g.gradFn == nil && g.ownsStorageExclusively {
      // Nothing else can see this gradient's memory: adopt it, as PyTorch does.
      grad = g
    } else {
      // Own the memory so later in-place updates of .grad never alias other tensors.
      grad = g.detach().contiguousCopy()
    }
  }

  /// True when `reference` is the tensor's only reference, it has no graph and it is the only
  /// tensor viewing its storage: a gradient the engine may add into in place.
  static func isPrivateGradientBuffer(_ reference: inout Tensor) -> Bool {
    isKnownUniquelyReferenced(&reference) && reference.gradFn == nil && reference.ownsStorageExclusively
  }

  /// True when this dense tensor is the only one viewing its storage, so in-place
  /// writes through it are invisible elsewhere.
  var ownsStorageExclusively: Bool {
    isContiguous && offset == 0 && count * dtype.byteSize == storage.byteCount
      && storageRetainCount(self) <= StorageOwnership.soleOwnerCount
  }

  /// Clears the accumulated gradient.
  public func zeroGrad() { grad = nil }

  /// torch's `register_post_accumulate_grad_hook`: `hook(self)` runs during backward right
  /// after this leaf's `.grad` received its last contribution from that backward.
  public func registerPostAccumulateGradHook(_ hook: @escaping (Tensor) -> Void) {
    postAccumulateGradHooks.append(hook)
  }

  /// Removes every hook `registerPostAccumulateGradHook` added.
  public func removePostAccumulateGradHooks() { postAccumulateGradHooks = [] }
}

/// Gradients of `outputs` with respect to `inputs` (like `torch.autograd.grad`),
/// without touching `.grad`. With `createGraph` the results are differentiable,
/// which is what a gradient penalty (WGAN-GP) needs.
public func gradients(
  of outputs: [Tensor], wrt inputs: [Tensor], gradOutputs: [Tensor]? = nil,
  retainGraph: Bool? = nil, createGraph: Bool = false
) -> [Tensor?] {
  var roots: [(Tensor, Tensor)] = []
  for (i, out) in outputs.enumerated() {
    guard out.requiresGrad else {
      opFailure(LoomError("gradients: output \(i) (shape \(out.shape)) does not require grad"))
    }
    let seed = gradOutputs?[i] ?? Tensor.ones(out.shape, dtype: out.dtype, device: out.device)
    roots.append((out, seed))
  }
  return runBackward(
    roots: roots, retainGraph: retainGraph ?? createGraph, createGraph: createGraph, capture: inputs
  )
}

extension Tensor {
  /// True once a backward without retainGraph has freed this tensor's graph.
  public var hasReleasedGraph: Bool { gradFn?.isReleased ?? false }
}

/// The retain count a storage shows when exactly one tensor holds it, measured once through the
/// same call path as the check (so retains the optimiser adds or removes cancel out).
enum StorageOwnership {
  static let soleOwnerCount: UInt = {
    let probe = Tensor(empty: [1], device: .cpu)
    return storageRetainCount(probe)
  }()
}

@inline(never)
func storageRetainCount(_ t: Tensor) -> UInt { _getRetainCount(t.storage) }

/// Accumulates the gradients of slices into one buffer per sliced tensor. A buffer this
/// accumulator allocated (or a fresh sum) is written in place; regions known to be still
/// zero take a plain copy, others an add. Other gradients may alias user tensors and are
/// never written in place. A buffer it allocates starts uninitialised: slices usually tile
/// the whole tensor (q/k/v of a fused projection), so only the regions no slice wrote are
/// zeroed, when the buffer is first read (`settle`).
struct SliceGradientAccumulator {
  /// Buffers we own, with the disjoint regions (dim, start, end) written into zeros so
  /// far; an empty list means "contents unknown" (always add).
  private var owned: [ObjectIdentifier: [(dim: Int, start: Int, end: Int)]] = [:]
  /// Owned buffers whose memory outside the written regions is logically zero.
  private var zeroed: Set<ObjectIdentifier> = []
  /// Of those, the ones whose unwritten regions are not yet physically zero.
  private var unzeroed: Set<ObjectIdentifier> = []

  /// `grads[iid]` is now a fresh sum: ours to write into, contents unknown.
  mutating func adopt(_ iid: ObjectIdentifier) {
    owned[iid] = []
    zeroed.remove(iid)
    unzeroed.remove(iid)
  }

  /// Adds the rows of `g` at `index` into `input`'s gradient when it already has a buffer that
  /// nothing else sees; false (nothing done) otherwise.
  mutating func addRows(
    _ g: Tensor, at index: Tensor, into input: Tensor, grads: inout [ObjectIdentifier: Tensor]
  ) -> Bool {
    let iid = ObjectIdentifier(input)
    guard grads[iid] != nil else { return false }
    settle(iid, grads: grads)
    var existing = grads.removeValue(forKey: iid)!
    guard owns(iid) || Tensor.isPrivateGradientBuffer(&existing), existing.dtype == input.dtype else {
      grads[iid] = existing
      return false
    }
    existing.backend.accumulateRows(into: existing, index: index, source: g.detach())
    grads[iid] = existing
    adopt(iid)
    return true
  }

  /// Whether `grads[iid]` is a buffer this accumulator (or a sum) made.
  func owns(_ iid: ObjectIdentifier) -> Bool { owned[iid] != nil }

  /// `grads[iid]` may alias other tensors: never written in place.
  mutating func disown(_ iid: ObjectIdentifier) {
    owned[iid] = nil
    zeroed.remove(iid)
    unzeroed.remove(iid)
  }

  /// Zeroes what no slice wrote in `grads[iid]`, before anything reads it.
  mutating func settle(_ iid: ObjectIdentifier, grads: [ObjectIdentifier: Tensor]) {
    guard unzeroed.remove(iid) != nil, let buffer = grads[iid], let written = owned[iid] else {
      return
    }
    guard let dim = written.first?.dim else {
      buffer.fill(0)
      return
    }
    // Every written region lies along `dim` (a plain copy needs that); zero the gaps between them.
    var next = 0
    for region in written.sorted(by: { $0.start < $1.start }) {
      if region.start > next { zeroSlab(buffer, dim: dim, start: next, end: region.start) }
      next = region.end
    }
    if next < buffer.shape[dim] { zeroSlab(buffer, dim: dim, start: next, end: buffer.shape[dim]) }
  }

  /// Zeroes indices start..<end of `dim` in a contiguous buffer.
  private func zeroSlab(_ buffer: Tensor, dim: Int, start: Int, end: Int) {
    buffer.detach().slice(dim: dim, start: start, end: end).fill(0)
  }

  mutating func add(
    _ g: Tensor, at info: (dim: Int, start: Int, step: Int), into input: Tensor,
    grads: inout [ObjectIdentifier: Tensor]
  ) {
    let iid = ObjectIdentifier(input)
    let end = info.start + (g.shape[info.dim] - 1) * info.step + 1
    let buffer: Tensor
    if let existing = grads[iid], owned[iid] != nil {
      buffer = existing
    } else if let existing = grads[iid] {
      buffer = existing.contiguousCopy()
      adopt(iid)
    } else {
      buffer = Tensor(empty: input.shape, dtype: g.dtype, device: g.device)
      owned[iid] = []
      zeroed.insert(iid)
      unzeroed.insert(iid)
    }
    grads[iid] = buffer
    let region = buffer.slice(dim: info.dim, start: info.start, end: end, step: info.step)
    let written = owned[iid]!
    let untouched =
      zeroed.contains(iid) && info.step == 1
      && written.allSatisfy { $0.dim == info.dim && ($0.end <= info.start || end <= $0.start) }
    if untouched {
      region.copyIn(g)
      owned[iid]!.append((info.dim, info.start, end))
    } else {
      settle(iid, grads: grads)
      region.copyIn(region + g)
      zeroed.remove(iid)
    }
  }
}
