import LoomCore

/// Called after a module's forward with the module, its tensor inputs and its output
/// (like PyTorch's `register_forward_hook`). Hooks observe; they cannot replace the output.
public typealias ForwardHook = (_ module: Module, _ inputs: [Tensor], _ output: Tensor) -> Void

/// Removes a registered hook; removing twice is harmless.
public final class HookHandle {
  private var onRemove: (() -> Void)?

  init(_ onRemove: @escaping () -> Void) { self.onRemove = onRemove }

  public func remove() {
    guard let action = onRemove else { return }
    onRemove = nil
    action()
  }
}

/// Bookkeeping for forward hooks. Calls pay one integer load when no hook is registered
/// anywhere; only then are per-module lists looked at. Like `GradMode`, registration
/// is not thread-safe: register and remove hooks from the thread that runs the forward.
public enum ForwardHooks {
  /// Number of hooks registered anywhere (global and per module).
  @usableFromInline nonisolated(unsafe) static var activeCount = 0
  nonisolated(unsafe) static var global: [(id: Int, hook: ForwardHook)] = []
  nonisolated(unsafe) static var nextID = 0

  /// Whether any hook is registered.
  public static var isActive: Bool { activeCount != 0 }

  /// A hook called for every module's forward (PyTorch's `register_module_forward_hook`).
  public static func registerGlobal(_ hook: @escaping ForwardHook) -> HookHandle {
    let id = makeID()
    global.append((id, hook))
    activeCount += 1
    return HookHandle {
      global.removeAll { $0.id == id }
      activeCount -= 1
    }
  }

  static func makeID() -> Int {
    nextID += 1
    return nextID
  }
}

/// A module's own hooks. A class (not an array) so the reflection that finds
/// parameters and submodules passes over it.
final class ForwardHookList {
  var entries: [(id: Int, hook: ForwardHook)] = []
}

extension Module {
  /// Registers `hook` to run after each forward of this module (not its submodules).
  @discardableResult
  public func registerForwardHook(_ hook: @escaping ForwardHook) -> HookHandle {
    let list = forwardHooks ?? ForwardHookList()
    forwardHooks = list
    let id = ForwardHooks.makeID()
    list.entries.append((id, hook))
    ForwardHooks.activeCount += 1
    return HookHandle { [weak list] in
      list?.entries.removeAll { $0.id == id }
      ForwardHooks.activeCount -= 1
    }
  }

  /// Reports this module's forward to the hooks and returns `output`. `Module.callAsFunction(_:)` calls it
  /// around `forward(_:)`; modules with other signatures (several inputs, masks, caches)
  /// end their forward with `return recordForward(y, inputs: [x])`. The inputs are only
  /// built when a hook is registered.
  @inlinable
  public func recordForward(_ output: Tensor, inputs: @autoclosure () -> [Tensor] = []) -> Tensor {
    if ForwardHooks.activeCount != 0 { runForwardHooks(inputs: inputs(), output: output) }
    return output
  }

  @usableFromInline
  func runForwardHooks(inputs: [Tensor], output: Tensor) {
    for entry in ForwardHooks.global { entry.hook(self, inputs, output) }
    if let list = forwardHooks {
      for entry in list.entries { entry.hook(self, inputs, output) }
    }
  }
}
