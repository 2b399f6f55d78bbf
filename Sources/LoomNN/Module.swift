import LoomCore

/// What a state-dict load found wrong.
public struct LoadStateDictError: Error, CustomStringConvertible, Equatable {
  public var missing: [String] = []
  public var unexpected: [String] = []
  /// "name: expected [a, b], got [c, d]"
  public var mismatched: [String] = []
  public var source: String = "state dict"

  public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty }

  public var description: String {
    var lines = ["error loading \(source):"]
    if !missing.isEmpty { lines.append("  missing keys (\(missing.count)): \(Self.list(missing))") }
    if !unexpected.isEmpty {
      lines.append("  unexpected keys (\(unexpected.count)): \(Self.list(unexpected))")
    }
    if !mismatched.isEmpty { lines.append("  size mismatches: \(Self.list(mismatched))") }
    return lines.joined(separator: "\n")
  }

  static func list(_ xs: [String]) -> String {
    xs.count <= 12 ? xs.joined(separator: ", ") : xs.prefix(12).joined(separator: ", ") + ", …"
  }
}

/// Base class of layers and models. Subclasses declare parameters, buffers and
/// replaceable submodules with `@Parameter`, `@Buffer` and `@Child` (see
/// ModuleDeclarations.swift); plain stored `Module` properties (and arrays or
/// dictionaries of them) are children too, like PyTorch's attribute registration, but
/// cannot be replaced by path; plain `Tensor`s and `_`-prefixed plain properties are
/// not part of the module. Names are dotted paths like Hugging Face's
/// (`transformer.h.0.attn.c_attn.weight`). Subclasses implement `forward(_:)`; callers
/// write `module(x)`, which runs the forward hooks around it (PyTorch's `__call__`).
open class Module: CustomStringConvertible {
  public private(set) var training = true
  /// Set by `gradientCheckpointingEnable()` (GradientCheckpointing.swift).
  public internal(set) var gradientCheckpointing = false
  /// Hooks registered on this module (see Hooks.swift); nil when none ever were.
  var forwardHooks: ForwardHookList?

  public init() {}

  /// The computation of a one-input module. Modules with other signatures (masks,
  /// caches, several inputs) define their own `callAsFunction` and may leave this out.
  open func forward(_ x: Tensor) -> Tensor {
    fatalError(
      "Loom: \(type(of: self)) does not implement forward(_:); override it to make the module callable"
    )
  }

  /// Runs `forward(_:)` and then the forward hooks (PyTorch's `Module.__call__`).
  open func callAsFunction(_ x: Tensor) -> Tensor {
    recordForward(forward(x), inputs: [x])
  }

  /// Settings shown in `description` after the type name, like PyTorch's `extra_repr`
  /// (e.g. "in_features=4, out_features=8, bias=True").
  open var extraDescription: String { "" }

  /// Property name → key in state dicts for plain (undeclared) child properties and
  /// declarations without `key:` (e.g. "cAttn": "c_attn").
  open var keyOverrides: [String: String] { [:] }

  enum Slot {
    case parameter(String, Tensor)
    case buffer(String, TensorDeclaration, persistent: Bool)
    /// Submodules under `key` (sub-keys "" for a single module, indices or names for
    /// collections); `declaration` is nil for plain properties (not replaceable).
    case children(String, isCollection: Bool, [(String, Module)], declaration: ChildDeclaration?)
  }

  /// Direct parameters, buffers and children, in declaration order (superclass first).
  func slots() -> [Slot] {
    var mirrors: [Mirror] = []
    var m: Mirror? = Mirror(reflecting: self)
    while let current = m {
      mirrors.append(current)
      m = current.superclassMirror
    }
    let overrides = keyOverrides
    var out: [Slot] = []
    for mirror in mirrors.reversed() {
      for child in mirror.children {
        guard let label = child.label, !label.hasPrefix("$") else { continue }
        let value = child.value
        if let d = value as? TensorDeclaration {
          let name = String(label.dropFirst())  // wrapper storage is "_name"
          let key = d.key ?? overrides[name] ?? name
          guard let t = d.tensor else { continue }
          if let persistent = d.persistence {
            out.append(.buffer(key, d, persistent: persistent))
          } else {
            out.append(.parameter(key, t))
          }
        } else if let d = value as? ChildDeclaration {
          let name = String(label.dropFirst())
          let (isCollection, items) = d.entries
          out.append(
            .children(
              d.key ?? overrides[name] ?? name, isCollection: isCollection, items, declaration: d))
        } else if !label.hasPrefix("_") {
          let (isCollection, items) = Child<Any>.entries(of: value)
          guard !items.isEmpty else { continue }
          out.append(
            .children(
              overrides[label] ?? label, isCollection: isCollection, items, declaration: nil))
        }
      }
    }
    return out
  }

  /// Immediate submodules with their keys.
  public var namedChildren: [(String, Module)] {
    slots().flatMap { slot -> [(String, Module)] in
      guard case .children(let key, _, let items, _) = slot else { return [] }
      return items.map { (Self.join(key, $0.0), $0.1) }
    }
  }

  /// `a.b` without empty parts.
  static func join(_ a: String, _ b: String) -> String {
    a.isEmpty ? b : b.isEmpty ? a : "\(a).\(b)"
  }

  /// This module and every submodule, depth first, with dotted names ("" for self).
  public func namedModules(prefix: String = "") -> [(String, Module)] {
    var out: [(String, Module)] = [(prefix, self)]
    for (k, child) in namedChildren {
      out += child.namedModules(prefix: prefix.isEmpty ? k : "\(prefix).\(k)")
    }
    return out
  }

  /// Every parameter with its dotted name; a tensor shared by two modules (tied
  /// weights) is listed once, under its first name.
  public func namedParameters() -> [(String, Tensor)] {
    var seen = Set<ObjectIdentifier>()
    var out: [(String, Tensor)] = []
    collect(prefix: "", into: &out, seen: &seen)
    return out
  }

  private func collect(
    prefix: String, into out: inout [(String, Tensor)], seen: inout Set<ObjectIdentifier>
  ) {
    for slot in slots() {
      switch slot {
      case .parameter(let k, let t):
        if seen.insert(ObjectIdentifier(t)).inserted { out.append((prefix + k, t)) }
      case .children(let k, _, let items, _):
        for (sub, m) in items {
          m.collect(prefix: prefix + Self.join(k, sub) + ".", into: &out, seen: &seen)
        }
      case .buffer:
        break
      }
    }
  }

  /// Every parameter, in `namedParameters()` order (tied weights once), without building
  /// the dotted names (optimizers, clipping and the Trainer call this every step).
  public func parameters() -> [Tensor] {
    var seen = Set<ObjectIdentifier>()
    var out: [Tensor] = []
    collectParameters(into: &out, seen: &seen)
    return out
  }

  private func collectParameters(into out: inout [Tensor], seen: inout Set<ObjectIdentifier>) {
    for slot in slots() {
      switch slot {
      case .parameter(_, let t):
        if seen.insert(ObjectIdentifier(t)).inserted { out.append(t) }
      case .children(_, _, let items, _):
        for (_, m) in items { m.collectParameters(into: &out, seen: &seen) }
      case .buffer:
        break
      }
    }
  }

  /// Calls `body` on this module and every submodule, depth first (no names built).
  func forEachModule(_ body: (Module) -> Void) {
    body(self)
    for slot in slots() {
      if case .children(_, _, let items, _) = slot {
        for (_, m) in items { m.forEachModule(body) }
      }
    }
  }

  /// This module's own parameters, without its submodules'.
  func directParameters() -> [Tensor] {
    slots().compactMap { if case .parameter(_, let t) = $0 { return t } else { return nil } }
  }

  /// Every buffer (persistent or not) with its dotted name, like `named_buffers()`.
  public func namedBuffers() -> [(String, Tensor)] {
    bufferDeclarations().compactMap { name, d, _ in d.tensor.map { (name, $0) } }
  }

  /// Buffers with their declarations (to assign them) and persistence.
  func bufferDeclarations() -> [(String, TensorDeclaration, persistent: Bool)] {
    var out: [(String, TensorDeclaration, persistent: Bool)] = []
    for (name, m) in namedModules() {
      for slot in m.slots() {
        if case .buffer(let k, let d, let persistent) = slot {
          out.append((Self.join(name, k), d, persistent))
        }
      }
    }
    return out
  }

  /// Training mode (dropout on, batch statistics) for this module and all below.
  public func train(_ on: Bool = true) {
    forEachModule { $0.training = on }
  }

  /// Evaluation mode.
  public func eval() { train(false) }

  /// Runs `body` in evaluation mode, then gives every module back its own mode.
  func inEvalMode<R>(_ body: () throws -> R) rethrows -> R {
    let modes = namedModules().map { ($0.1, $0.1.training) }
    eval()
    defer { for (m, on) in modes { m.training = on } }
    return try body()
  }

  /// Stops gradients for every parameter (e.g. a frozen backbone).
  public func freeze() { for p in parameters() { p.requiresGrad = false } }
  public func unfreeze() { for p in parameters() { p.requiresGrad = true } }

  /// Number of parameter elements (optionally only those that train).
  public func parameterCount(trainableOnly: Bool = false) -> Int {
    parameters().filter { !trainableOnly || $0.requiresGrad }.reduce(0) { $0 + $1.count }
  }

  public func zeroGrad() { for p in parameters() { p.zeroGrad() } }

  /// Parameters and persistent buffers by dotted name.
  public func stateDict() -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (k, t) in namedParameters() { out[k] = t.detach() }
    for (k, d, persistent) in bufferDeclarations() where persistent {
      if let t = d.tensor { out[k] = t.detach() }
    }
    return out
  }

  /// Copies values into this module's parameters and buffers in place (so optimizers
  /// keep their references), converting dtypes. Strict mode rejects missing and
  /// unexpected keys; size mismatches are always errors. Returns what non-strict mode
  /// skipped.
  @discardableResult
  public func loadStateDict(
    _ dict: [String: Tensor], strict: Bool = true, source: String = "state dict",
    releasingMappedSources: Bool = false
  ) throws
    -> LoadStateDictError
  {
    var report = LoadStateDictError(source: source)
    var targets: [String: (Tensor) -> Void] = [:]
    var shapes: [String: [Int]] = [:]
    for (k, p) in namedParameters() {
      targets[k] = { v in
        noGrad {
          if releasingMappedSources { Self.copyReleasingSource(v, into: p) } else { p.copyIn(v) }
        }
      }
      shapes[k] = p.shape
    }
    for (k, d, persistent) in bufferDeclarations() where persistent {
      guard let b = d.tensor else { continue }
      targets[k] = { v in d.assign(v.to(b.dtype).contiguousCopy().detach()) }
      shapes[k] = b.shape
    }
    for k in targets.keys.sorted() {
      guard let v = dict[k] else {
        report.missing.append(k)
        continue
      }
      if v.shape != shapes[k]! {
        report.mismatched.append("\(k): expected \(shapes[k]!), got \(v.shape)")
      }
    }
    report.unexpected = dict.keys.filter { targets[$0] == nil }.sorted()
    if !report.mismatched.isEmpty || (strict && !report.isEmpty) { throw report }
    for (k, apply) in targets { if let v = dict[k] { apply(v) } }
    return report
  }

  /// Copies (converting the dtype) a file-mapped weight into `destination` a few MiB of rows at
  /// a time, giving each stretch's file pages back as soon as it is copied: loading never holds
  /// more than the model plus one stretch, whatever the checkpoint's dtype.
  static func copyReleasingSource(_ source: Tensor, into destination: Tensor) {
    let rows = source.rank == 0 ? 1 : source.shape[0]
    let rowBytes = source.count / Swift.max(rows, 1) * source.dtype.byteSize
    guard source.rank >= 1, source.shape == destination.shape, source.isContiguous, rows > 1 else {
      destination.copyIn(source)
      source.discardMappedPages()
      return
    }
    let step = Swift.max(1, (8 << 20) / Swift.max(rowBytes, 1))
    var start = 0
    while start < rows {
      let length = Swift.min(step, rows - start)
      let part = source.narrow(dim: 0, start: start, length: length)
      destination.narrow(dim: 0, start: start, length: length).copyIn(part)
      part.discardMappedPages()
      start += length
    }
  }
}

/// A module called with one tensor. Every `Module` is callable now (override
/// `forward(_:)`); kept so existing `Module, Layer` declarations compile.
public protocol Layer: Module {}
