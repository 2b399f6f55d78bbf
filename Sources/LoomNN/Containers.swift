import LoomCore

/// Holds submodules by index, like `torch.nn.ModuleList`: children are named "0", "1",
/// … in state dicts (under the list's own key when it is a property of a module), and
/// `replaceModule(at: "layers.2", …)` replaces one. It has no forward of its own; the
/// owner decides how to call its items (`list[i](x)`).
public final class ModuleList: Module, RandomAccessCollection {
  @Child(key: "") public private(set) var modules: [Module]

  public init(_ modules: [Module] = []) {
    _modules.wrappedValue = modules
    super.init()
  }

  public convenience init(_ modules: Module...) { self.init(modules) }

  public var startIndex: Int { 0 }
  public var endIndex: Int { modules.count }

  public subscript(index: Int) -> Module {
    get { modules[index] }
    set { modules[index] = newValue }
  }

  public func append(_ module: Module) { modules.append(module) }
  public func append(contentsOf others: [Module]) { modules.append(contentsOf: others) }
  public func insert(_ module: Module, at index: Int) { modules.insert(module, at: index) }
}

/// Holds submodules by name in insertion order, like `torch.nn.ModuleDict`; children
/// appear in state dicts under their keys.
public final class ModuleDict: Module {
  @Child(key: "") private var entries: [(String, Module)]

  public init(_ pairs: [(String, Module)] = []) {
    _entries.wrappedValue = []
    super.init()
    for (k, m) in pairs { self[k] = m }
  }

  public var keys: [String] { entries.map(\.0) }
  public var values: [Module] { entries.map(\.1) }
  public var items: [(String, Module)] { entries }
  public var count: Int { entries.count }

  /// Setting an existing key replaces its module in place; a new key goes last;
  /// setting nil removes the key.
  public subscript(key: String) -> Module? {
    get { entries.first { $0.0 == key }?.1 }
    set {
      let i = entries.firstIndex { $0.0 == key }
      guard let newValue else {
        if let i { entries.remove(at: i) }
        return
      }
      // A dot would make the state-dict key ambiguous; PyTorch rejects it too.
      precondition(
        !key.isEmpty && !key.contains("."),
        "ModuleDict: key '\(key)' must be non-empty and contain no '.'")
      if let i { entries[i].1 = newValue } else { entries.append((key, newValue)) }
    }
  }
}
