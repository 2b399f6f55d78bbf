import LoomCore
import LoomNN
import XCTest

final class GraphDOTTests: XCTestCase {
  func lines(_ dot: String, containing s: String) -> [Substring] {
    dot.split(separator: "\n").filter { $0.contains(s) }
  }

  func testAutoencoderGraphHasEveryParameterAndOp() {
    let ae = TinyAutoencoder()
    let x = Tensor.rand([3, 784])
    let dot = ae.graphDOT(output: ae(x))
    let params = ae.namedParameters()
    XCTAssertEqual(params.count, 20)
    XCTAssertEqual(lines(dot, containing: "fillcolor=lightblue").count, params.count)
    for (name, p) in params {
      let shape = "(" + p.shape.map(String.init).joined(separator: ", ") + ")"
      XCTAssertEqual(
        lines(dot, containing: "[label=\"\(name)\\n\(shape)\" fillcolor=lightblue]").count, 1, name)
    }
    // One op per Linear (addmm) and per activation; the input needs no grad, so it is not drawn.
    let linears = ae.namedModules().filter { $0.1 is Linear }.count
    let relus = ae.namedModules().filter { $0.1 is ReLU }.count
    XCTAssertEqual(lines(dot, containing: "AddmmBackward").count, linears)
    XCTAssertEqual(lines(dot, containing: "ReluBackward").count, relus)
    XCTAssertEqual(lines(dot, containing: "SigmoidBackward").count, 1)
    let ops = lines(dot, containing: "[label=").filter { !$0.contains("fillcolor") }
    XCTAssertEqual(ops.count, linears + relus + 1)
    XCTAssertEqual(
      lines(dot, containing: "[label=\"output\\n(3, 784)\" fillcolor=darkolivegreen1]").count, 1)
    // Edges: weight and bias into each addmm, the previous op into every op but the first, op → output.
    XCTAssertEqual(lines(dot, containing: " -> ").count, 2 * linears + (ops.count - 1) + 1)
    // Deterministic: a second forward gives the same text.
    XCTAssertEqual(ae.graphDOT(output: ae(x)), dot)
  }

  func testGraphAfterBackwardMarksFreedOps() {
    let lin = Linear(3, 2)
    let y = lin(Tensor.rand([4, 3])).sum()
    XCTAssertFalse(lin.graphDOT(output: y).contains("freed"))
    y.backward()
    XCTAssertTrue(lin.graphDOT(output: y).contains("SumBackward\\n(freed by backward)"))
  }
}
