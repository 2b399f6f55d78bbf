import LoomCore

/// Persistent non-trainable state of a module (e.g. BatchNorm's running statistics).
/// Saved in state dicts, never handed to optimizers.
public final class Buffer {
  public var value: Tensor
  public init(_ value: Tensor) { self.value = value }
}

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
    if !unexpected.isEmpty { lines.append("  unexpected keys (\(unexpected.count)): \(Self.list(unexpected))") }
    if !mismatched.isEmpty { lines.append("  size mismatches: \(Self.list(mismatched))") }
    return lines.joined(separator: "\n")
  }

  static func list(_ xs: [String]) -> String {
    xs.count <= 12 ? xs.joined(separator: ", ") : xs.prefix(12).joined(separator: ", ") + ", …"
  }
}

/// Base class of layers and models. Parameters (stored `Tensor` properties) and
/// submodules (stored `Module`, optional, array, dictionary and `[(String, Module)]`
/// properties) are found by reflection, so subclasses just declare them. Names are
/// dotted paths like Hugging Face's (`transformer.h.0.attn.c_attn.weight`); a subclass
/// can rename a property's key with `keyOverrides`.
open class Module {
  public private(set) var training = true
  /// Hooks registered on this module (see Hooks.swift); nil when none ever were.
  var forwardHooks: ForwardHookList?

  public init() {}

  /// Property name → key in state dicts (e.g. "cAttn": "c_attn").
  open var keyOverrides: [String: String] { [:] }

  enum Slot {
    case parameter(String, Tensor)
    case buffer(String, Buffer)
    case child(String, Module)
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
        guard var label = child.label else { continue }
        if label.hasPrefix("$") { continue }  // lazy storage and other compiler names
        if label.hasPrefix("_") { label.removeFirst() }
        let key = overrides[label] ?? label
        let value = child.value
        if let t = value as? Tensor {
          out.append(.parameter(key, t))
        } else if let b = value as? Buffer {
          out.append(.buffer(key, b))
        } else if let c = value as? Module {
          out.append(.child(key, c))
        } else if let list = value as? [Module] {
          for (i, c) in list.enumerated() { out.append(.child(key.isEmpty ? "\(i)" : "\(key).\(i)", c)) }
        } else if let dict = value as? [String: Module] {
          for k in dict.keys.sorted() { out.append(.child(key.isEmpty ? k : "\(key).\(k)", dict[k]!)) }
        } else if let pairs = value as? [(String, Module)] {
          // Named children in insertion order (ModuleDict).
          for (k, c) in pairs { out.append(.child(key.isEmpty ? k : "\(key).\(k)", c)) }
        }
      }
    }
    return out
  }

  /// Immediate submodules with their keys.
  public var namedChildren: [(String, Module)] {
    slots().compactMap { if case .child(let k, let m) = $0 { return (k, m) } else { return nil } }
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

  private func collect(prefix: String, into out: inout [(String, Tensor)], seen: inout Set<ObjectIdentifier>) {
    for slot in slots() {
      switch slot {
      case .parameter(let k, let t):
        if seen.insert(ObjectIdentifier(t)).inserted { out.append((prefix + k, t)) }
      case .child(let k, let m):
        m.collect(prefix: prefix + k + ".", into: &out, seen: &seen)
      case .buffer:
        break
      }
    }
  }

  public func parameters() -> [Tensor] { namedParameters().map(\.1) }

  /// This module's own parameters, without its submodules'.
  func directParameters() -> [Tensor] {
    slots().compactMap { if case .parameter(_, let t) = $0 { return t } else { return nil } }
  }

  public func namedBuffers() -> [(String, Buffer)] {
    var out: [(String, Buffer)] = []
    for (name, m) in namedModules() {
      for slot in m.slots() {
        if case .buffer(let k, let b) = slot { out.append((name.isEmpty ? k : "\(name).\(k)", b)) }
      }
    }
    return out
  }

  /// Training mode (dropout on, batch statistics) for this module and all below.
  public func train(_ on: Bool = true) {
    for (_, m) in namedModules() { m.training = on }
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

  /// Parameters and buffers by dotted name.
  public func stateDict() -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (k, t) in namedParameters() { out[k] = t.detach() }
    for (k, b) in namedBuffers() { out[k] = b.value.detach() }
    return out
  }

  /// Copies values into this module's parameters and buffers in place (so optimizers
  /// keep their references), converting dtypes. Strict mode rejects missing and
  /// unexpected keys; size mismatches are always errors. Returns what non-strict mode
  /// skipped.
  @discardableResult
  public func loadStateDict(_ dict: [String: Tensor], strict: Bool = true, source: String = "state dict") throws
    -> LoadStateDictError
  {
    var report = LoadStateDictError(source: source)
    var targets: [String: (Tensor) -> Void] = [:]
    var shapes: [String: [Int]] = [:]
    for (k, p) in namedParameters() {
      targets[k] = { v in noGrad { p.copyIn(v) } }
      shapes[k] = p.shape
    }
    for (k, b) in namedBuffers() {
      targets[k] = { v in b.value = v.to(b.value.dtype).contiguousCopy().detach() }
      shapes[k] = b.value.shape
    }
    for k in targets.keys.sorted() {
      guard let v = dict[k] else { report.missing.append(k); continue }
      if v.shape != shapes[k]! { report.mismatched.append("\(k): expected \(shapes[k]!), got \(v.shape)") }
    }
    report.unexpected = dict.keys.filter { targets[$0] == nil }.sorted()
    if !report.mismatched.isEmpty || (strict && !report.isEmpty) { throw report }
    for (k, apply) in targets { if let v = dict[k] { apply(v) } }
    return report
  }
}

/// A module mapping one tensor to another; what `Sequential` chains. Layers implement
/// `forward(_:)`; callers write `layer(x)`, which runs the forward hooks around it
/// (like PyTorch's `forward` and `__call__`).
public protocol Layer: Module {
  func forward(_ x: Tensor) -> Tensor
}

extension Module {
  /// Moves every parameter and buffer to `device` in place (references held by optimizers
  /// and tied weights stay valid), like `module.to(device)`.
  @discardableResult
  public func to(device: Device) -> Self {
    noGrad {
      for p in parameters() where p.device != device { p.setData(p.detach().to(device: device)) }
      for (_, b) in namedBuffers() where b.value.device != device { b.value = b.value.to(device: device) }
    }
    return self
  }

  /// Casts every floating-point parameter and buffer to `dtype` in place, like
  /// `module.to(torch.bfloat16)`.
  @discardableResult
  public func to(dtype: DType) -> Self {
    precondition(dtype.isFloatingPoint, "Module.to(dtype:): \(dtype) is not a floating-point type")
    noGrad {
      for p in parameters() where p.dtype.isFloatingPoint && p.dtype != dtype { p.setData(p.detach().to(dtype)) }
      for (_, b) in namedBuffers() where b.value.dtype.isFloatingPoint && b.value.dtype != dtype {
        b.value = b.value.to(dtype)
      }
    }
    return self
  }
}
