import LoomCore

// Property wrappers that declare what a module holds, next to the property (like
// mlx-swift's @ParameterInfo/@ModuleInfo and PyTorch's nn.Parameter/register_buffer):
//
//   @Parameter var weight: Tensor               trained, saved
//   @Parameter var bias: Tensor?                absent when nil
//   @Buffer var runningMean: Tensor             saved, never trained
//   @Buffer(persistent: false) var table: Tensor   neither (a cache)
//   @Child var c_attn: Conv1D                   replaceable submodule (also Module?, [M],
//                                               [String: M]); see ModuleSurgery.swift
//
// Keys default to the property name; `key:` renames (`@Child(key: "c_attn") var cAttn`).
// A keyed declaration is initialised at the declaration, so its value is set in `init`
// through the wrapper: `_cAttn.wrappedValue = Conv1D(…)` (or `cAttn = …` after
// `super.init()`). A plain stored `Tensor` is not a parameter.

/// What `@Parameter` and `@Buffer` can wrap: `Tensor` or `Tensor?`.
public protocol TensorPropertyValue {
  var tensorIfPresent: Tensor? { get }
  static func wrapping(_ tensor: Tensor) -> Self
}

extension Tensor: TensorPropertyValue {
  public var tensorIfPresent: Tensor? { self }
  public static func wrapping(_ tensor: Tensor) -> Tensor { tensor }
}

extension Optional: TensorPropertyValue where Wrapped == Tensor {
  public var tensorIfPresent: Tensor? { self }
  public static func wrapping(_ tensor: Tensor) -> Tensor? { tensor }
}

/// Type-erased view of a `@Parameter` or `@Buffer`, for reflection.
protocol TensorDeclaration: AnyObject {
  var key: String? { get }
  var tensor: Tensor? { get }
  /// nil for parameters.
  var persistence: Bool? { get }
  func assign(_ tensor: Tensor)
}

/// A trainable tensor of a module (PyTorch's `nn.Parameter`): listed by `parameters()`,
/// saved in `stateDict()`. The tensor keeps its `requiresGrad` (the `Init` helpers set it;
/// write `.requiringGrad()` on a tensor made otherwise), so wrapping a frozen tensor
/// leaves it frozen.
@propertyWrapper
public final class Parameter<Value: TensorPropertyValue> {
  @exclusivity(unchecked) @usableFromInline var stored: Value?
  public let key: String?

  @inlinable public var wrappedValue: Value {
    get { stored! }
    set {
      ParameterCreation.adopt(newValue.tensorIfPresent)
      stored = newValue
    }
  }

  public init(wrappedValue: Value, key: String? = nil) {
    ParameterCreation.adopt(wrappedValue.tensorIfPresent)
    stored = wrappedValue
    self.key = key
  }

  /// A keyed declaration without a value yet; set it in `init` via `_name.wrappedValue`.
  public init(key: String) {
    stored = nil
    self.key = key
  }
}

extension Parameter: TensorDeclaration {
  var tensor: Tensor? { stored?.tensorIfPresent }
  var persistence: Bool? { nil }
  func assign(_ tensor: Tensor) { stored = .wrapping(tensor) }
}

/// Non-trainable state of a module (PyTorch's `register_buffer`), e.g. BatchNorm's
/// running statistics. Persistent buffers are saved in `stateDict()`; non-persistent
/// ones (caches, tables recomputed at init) are not. Never handed to optimizers.
@propertyWrapper
public final class Buffer<Value: TensorPropertyValue> {
  @exclusivity(unchecked) @usableFromInline var stored: Value?
  public let key: String?
  public let persistent: Bool

  @inlinable public var wrappedValue: Value {
    get { stored! }
    set { stored = newValue }
  }

  public init(wrappedValue: Value, key: String? = nil, persistent: Bool = true) {
    stored = wrappedValue
    self.key = key
    self.persistent = persistent
  }

  public init(key: String? = nil, persistent: Bool = true) {
    stored = nil
    self.key = key
    self.persistent = persistent
  }
}

extension Buffer: TensorDeclaration {
  var tensor: Tensor? { stored?.tensorIfPresent }
  var persistence: Bool? { persistent }
  func assign(_ tensor: Tensor) { stored = .wrapping(tensor) }
}

/// Type-erased view of a `@Child`, for reflection and replacement.
protocol ChildDeclaration: AnyObject {
  var key: String? { get }
  /// The submodules with their sub-keys: one ("", m) for a single module (none when an
  /// optional is nil), ("0", m), ("1", m) … for arrays, the keys for dictionaries.
  var entries: (isCollection: Bool, items: [(String, Module)]) { get }
  /// The declared type, for error messages.
  var declaredType: Any.Type { get }
  /// Puts `module` at `subkey` ("" for a single module); false when the declared type
  /// does not accept it.
  func replace(_ subkey: String, with module: Module) -> Bool
}

/// A submodule that can be replaced after construction (`replaceModule(at:with:)`):
/// `Module` subclasses, optionals, arrays `[M]`, dictionaries `[String: M]` and
/// `[(String, Module)]` (insertion-ordered). A replacement must be an instance of the
/// declared type (e.g. a subclass of `Conv1D` for `@Child var c_attn: Conv1D`; declare
/// `Module` to accept anything).
@propertyWrapper
public final class Child<Value> {
  @exclusivity(unchecked) @usableFromInline var stored: Value?
  public let key: String?

  @inlinable public var wrappedValue: Value {
    get { stored! }
    set { stored = newValue }
  }

  public init(wrappedValue: Value, key: String? = nil) {
    stored = wrappedValue
    self.key = key
  }

  public init(key: String) {
    stored = nil
    self.key = key
  }
}

extension Child: ChildDeclaration {
  var declaredType: Any.Type { Value.self }

  var entries: (isCollection: Bool, items: [(String, Module)]) {
    guard let value = stored else { return (false, []) }
    return Self.entries(of: value)
  }

  static func entries(of value: Any) -> (isCollection: Bool, items: [(String, Module)]) {
    if let m = value as? Module { return (false, [("", m)]) }
    if let list = value as? [Module] {
      return (true, list.enumerated().map { ("\($0.offset)", $0.element) })
    }
    if let pairs = value as? [(String, Module)] { return (true, pairs) }
    if let dict = value as? [String: Module] {
      return (true, dict.keys.sorted().map { ($0, dict[$0]!) })
    }
    return (false, [])
  }

  func replace(_ subkey: String, with module: Module) -> Bool {
    let current: Any? = stored
    if subkey.isEmpty {
      guard let v = module as? Value else { return false }
      stored = v
      return true
    }
    if var list = current as? [Module], let i = Int(subkey), list.indices.contains(i) {
      list[i] = module
      guard let v = list as? Value else { return false }
      stored = v
      return true
    }
    if var pairs = current as? [(String, Module)],
      let i = pairs.firstIndex(where: { $0.0 == subkey })
    {
      pairs[i].1 = module
      guard let v = pairs as? Value else { return false }
      stored = v
      return true
    }
    if var dict = current as? [String: Module], dict[subkey] != nil {
      dict[subkey] = module
      guard let v = dict as? Value else { return false }
      stored = v
      return true
    }
    return false
  }
}
