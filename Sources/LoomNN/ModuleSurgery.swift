import LoomCore

/// Why a path-based lookup or replacement failed.
public struct ModuleSurgeryError: Error, CustomStringConvertible, Equatable {
  public let path: String
  public let reason: String

  public var description: String { "module '\(path)': \(reason)" }
}

extension Module {
  /// The submodule at a dotted path ("" is this module), like `get_submodule`.
  public func module(at path: String) -> Module? {
    path.isEmpty ? self : namedModules().first { $0.0 == path }?.1
  }

  /// Puts `replacement` at `path` (e.g. "transformer.h.0.attn.c_attn"), like assigning
  /// `model.transformer.h[0].attn.c_attn = m` in PyTorch. The property there must be
  /// declared `@Child` and its type must accept `replacement` (a subclass of the
  /// declared class, or anything for `Module`). Throws `ModuleSurgeryError` otherwise.
  public func replaceModule(at path: String, with replacement: Module) throws {
    guard !path.isEmpty else {
      throw ModuleSurgeryError(
        path: path, reason: "the root module cannot be replaced; use the new module instead")
    }
    for (ownerPath, owner) in namedModules() {
      for slot in owner.slots() {
        guard case .children(let key, _, let items, let declaration) = slot else { continue }
        let candidates = items.map(\.0) + (items.isEmpty ? [""] : [])
        for sub in candidates where Self.join(ownerPath, Self.join(key, sub)) == path {
          try owner.replace(key: key, sub: sub, in: declaration, with: replacement, path: path)
          return
        }
      }
    }
    let known = namedModules().map(\.0).filter { !$0.isEmpty }
    let near = known.filter {
      $0.hasPrefix(path.split(separator: ".").dropLast().joined(separator: "."))
    }.prefix(8)
    throw ModuleSurgeryError(
      path: path,
      reason: "no submodule at this path"
        + (near.isEmpty ? "" : "; modules nearby: \(near.joined(separator: ", "))"))
  }

  private func replace(
    key: String, sub: String, in declaration: ChildDeclaration?, with replacement: Module,
    path: String
  ) throws {
    guard let declaration else {
      throw ModuleSurgeryError(
        path: path,
        reason:
          "'\(key)' is a plain property of \(type(of: self)); declare it `@Child var \(key): …` to make it replaceable"
      )
    }
    guard declaration.replace(sub, with: replacement) else {
      throw ModuleSurgeryError(
        path: path,
        reason:
          "\(type(of: self)).\(key) is declared as \(declaration.declaredType), which does not accept "
          + "\(type(of: replacement)); subclass the declared type or declare the property as `Module`"
      )
    }
  }

  /// Offers every submodule, depth first, to `transform` with its path; where it returns
  /// a module, that module replaces the submodule (and is not descended into, so a
  /// wrapper holding the original is not wrapped again). Returns the replaced paths.
  /// Like mlx-swift's `update(modules:)` driven by a predicate.
  @discardableResult
  public func replaceModules(where transform: (_ path: String, _ module: Module) throws -> Module?)
    throws -> [String]
  {
    var replaced: [String] = []
    try replaceModules(prefix: "", transform, replaced: &replaced)
    return replaced
  }

  private func replaceModules(
    prefix: String, _ transform: (String, Module) throws -> Module?, replaced: inout [String]
  ) throws {
    for slot in slots() {
      guard case .children(let key, _, let items, let declaration) = slot else { continue }
      for (sub, child) in items {
        let path = Self.join(prefix, Self.join(key, sub))
        if let replacement = try transform(path, child) {
          try replace(key: key, sub: sub, in: declaration, with: replacement, path: path)
          replaced.append(path)
        } else {
          try child.replaceModules(prefix: path, transform, replaced: &replaced)
        }
      }
    }
  }
}
