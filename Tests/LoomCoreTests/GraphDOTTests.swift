import LoomCore
import XCTest

final class GraphDOTTests: XCTestCase {
  func testSmallGraphText() {
    let w = Tensor.rand([2, 3]).requiringGrad()
    let b = Tensor.rand([3]).requiringGrad()
    let x = Tensor.rand([2, 3])  // no grad: left out
    let y = ((w * x + b) * w).sum()
    let dot = y.graphDOT(parameterNames: [
      ObjectIdentifier(w): "w", ObjectIdentifier(b): "lin.\"b\"",
    ])
    // Ops are numbered breadth-first from the output; leaves are declared where first met.
    let expected = """
      digraph {
      \tgraph [size="12,12"]
      \tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]
      \tn0 [label="output\\n()" fillcolor=darkolivegreen1]
      \tn1 [label="SumBackward"]
      \tn2 [label="MulBackward"]
      \tn4 [label="w\\n(2, 3)" fillcolor=lightblue]
      \tn3 [label="AddBackward"]
      \tn6 [label="lin.\\"b\\"\\n(3)" fillcolor=lightblue]
      \tn5 [label="MulBackward"]
      \tn1 -> n0
      \tn2 -> n1
      \tn3 -> n2
      \tn4 -> n2
      \tn5 -> n3
      \tn6 -> n3
      \tn4 -> n5
      }

      """
    XCTAssertEqual(dot, expected)
  }

  func testOutputWithoutHistoryIsOneNode() {
    let dot = noGrad { (Tensor.rand([2]).requiringGrad() * 2) }.graphDOT()
    XCTAssertEqual(dot.split(separator: "\n").filter { $0.contains("[label=") }.count, 1)
    XCTAssertFalse(dot.contains("->"))
  }
}
