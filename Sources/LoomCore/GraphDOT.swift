/// The autograd graph behind a tensor as Graphviz DOT, like torchviz's `make_dot`:
/// a grey box per recorded op (its backward name), a light-blue box per leaf that
/// requires grad (its parameter name, if given, and shape), the output in green with
/// its shape, and edges from inputs to the ops that use them. Inputs that do not
/// require grad are left out, as in torchviz; parameters connect straight to the ops
/// (no AccumulateGrad boxes). Node ids follow a breadth-first walk from the output, so
/// the text is the same on every run. Call it after the forward and before `backward`
/// (which frees the graph; freed ops are marked).
public enum GraphDOT {
  public static func make(_ output: Tensor, parameterNames: [ObjectIdentifier: String] = [:])
    -> String
  {
    var ids: [ObjectIdentifier: String] = [:]
    var nodes: [String] = []
    var edges: [String] = []
    func newID(_ key: ObjectIdentifier) -> String {
      let id = "n\(ids.count)"
      ids[key] = id
      return id
    }

    let outputID = newID(ObjectIdentifier(output))
    nodes.append(
      "\(outputID) [label=\(quoted("output\n" + shapeText(output.shape))) fillcolor=darkolivegreen1]"
    )
    var queue: [Tensor] = []
    if let fn = output.gradFn {
      edges.append("\(newID(ObjectIdentifier(fn))) -> \(outputID)")
      queue.append(output)
    } else if output.requiresGrad, let name = parameterNames[ObjectIdentifier(output)] {
      nodes[0] =
        "\(outputID) [label=\(quoted(name + "\n" + shapeText(output.shape))) fillcolor=darkolivegreen1]"
    }

    var next = 0
    while next < queue.count {
      let fn = queue[next].gradFn!
      next += 1
      let opID = ids[ObjectIdentifier(fn)]!
      nodes.append(
        "\(opID) [label=\(quoted(fn.isReleased ? fn.name + "\n(freed by backward)" : fn.name))]")
      for input in fn.inputs where input.requiresGrad {
        let inputID: String
        if let inputFn = input.gradFn {
          if let known = ids[ObjectIdentifier(inputFn)] {
            inputID = known
          } else {
            inputID = newID(ObjectIdentifier(inputFn))
            queue.append(input)
          }
        } else if let known = ids[ObjectIdentifier(input)] {
          inputID = known
        } else {
          inputID = newID(ObjectIdentifier(input))
          let name = parameterNames[ObjectIdentifier(input)] ?? ""
          nodes.append(
            "\(inputID) [label=\(quoted(name + "\n" + shapeText(input.shape))) fillcolor=lightblue]"
          )
        }
        edges.append("\(inputID) -> \(opID)")
      }
    }

    // torchviz's resize_graph: 0.15 inch per statement, at least 12.
    let size = Swift.max(12, 0.15 * Double(nodes.count + edges.count))
    var lines = [
      "digraph {",
      "\tgraph [size=\"\(sizeText(size)),\(sizeText(size))\"]",
      "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]",
    ]
    lines += nodes.map { "\t" + $0 }
    lines += edges.map { "\t" + $0 }
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
  }

  /// (2, 784), as torchviz prints sizes.
  static func shapeText(_ shape: [Int]) -> String {
    "(" + shape.map(String.init).joined(separator: ", ") + ")"
  }

  static func sizeText(_ x: Double) -> String {
    x == x.rounded() ? String(Int(x)) : String((x * 100).rounded() / 100)
  }

  /// A DOT string literal; "\n" becomes DOT's line break.
  static func quoted(_ s: String) -> String {
    var out = "\""
    for ch in s {
      switch ch {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      default: out.append(ch)
      }
    }
    return out + "\""
  }
}

extension Tensor {
  /// This tensor's autograd graph as DOT (see `GraphDOT`); `parameterNames` labels leaves.
  public func graphDOT(parameterNames: [ObjectIdentifier: String] = [:]) -> String {
    GraphDOT.make(self, parameterNames: parameterNames)
  }
}
