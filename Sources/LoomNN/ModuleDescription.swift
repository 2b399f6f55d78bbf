import LoomCore

// `print(model)` prints the module tree like PyTorch's `repr(model)`:
//
//   GPT2LMHeadModel(
//     (transformer): GPT2Model(
//       (wte): Embedding(50257, 768)
//       (h): ModuleList(
//         (0-11): 12 x GPT2Block(
//   …
//
// Layers add their settings through `extraDescription` (PyTorch's `extra_repr`).

extension Module {
  public var description: String {
    let extra =
      extraDescription.isEmpty ? [] : extraDescription.split(separator: "\n").map(String.init)
    var children: [String] = []
    for slot in slots() {
      guard case .children(let key, let isCollection, let items, _) = slot, !items.isEmpty else {
        continue
      }
      if !isCollection {
        children.append("(\(key)): \(Self.indent(items[0].1.description))")
      } else if key.isEmpty {
        children += Self.collectionLines(items)
      } else {
        let kind = items.allSatisfy({ Int($0.0) != nil }) ? "ModuleList" : "ModuleDict"
        children.append(
          "(\(key)): \(Self.indent(Self.repr(kind, extra: [], children: Self.collectionLines(items))))"
        )
      }
    }
    return Self.repr(String(describing: type(of: self)), extra: extra, children: children)
  }

  /// PyTorch's layout: `Name(extra)` on one line, else one entry per indented line.
  static func repr(_ name: String, extra: [String], children: [String]) -> String {
    let lines = extra + children
    if lines.isEmpty { return "\(name)()" }
    if extra.count == 1 && children.isEmpty { return "\(name)(\(extra[0]))" }
    return "\(name)(\n" + lines.map { "  " + $0 }.joined(separator: "\n") + "\n)"
  }

  /// "(i): repr" per item; runs of equal reprs under integer keys collapse to
  /// "(a-b): n x repr", as PyTorch's ModuleList prints them.
  static func collectionLines(_ items: [(String, Module)]) -> [String] {
    let reprs = items.map { $0.1.description }
    var out: [String] = []
    var i = 0
    while i < items.count {
      var j = i
      if Int(items[i].0) != nil {
        while j + 1 < items.count && reprs[j + 1] == reprs[i] && Int(items[j + 1].0) != nil {
          j += 1
        }
      }
      if j > i {
        out.append("(\(items[i].0)-\(items[j].0)): \(j - i + 1) x \(indent(reprs[i]))")
      } else {
        out.append("(\(items[i].0)): \(indent(reprs[i]))")
      }
      i = j + 1
    }
    return out
  }

  /// Indents every line but the first by two spaces (PyTorch's `_addindent`).
  static func indent(_ s: String) -> String {
    s.replacingOccurrences(of: "\n", with: "\n  ")
  }
}

/// Python's `repr` of a bool, for extra descriptions.
func pythonBool(_ b: Bool) -> String { b ? "True" : "False" }

/// Python's tuple repr: "(768,)", "(3, 3)".
func pythonTuple(_ xs: [Int]) -> String {
  xs.count == 1 ? "(\(xs[0]),)" : "(" + xs.map(String.init).joined(separator: ", ") + ")"
}
