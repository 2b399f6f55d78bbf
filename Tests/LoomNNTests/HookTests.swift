import LoomCore
import LoomNN
import XCTest

/// A module that is not a `Layer` (two inputs) and reports itself with `recordForward`.
final class Mixer: Module {
  @Child var left = Linear(3, 4)
  @Child var right = Linear(2, 4)
  var inputsBuilt = 0
  func callAsFunction(_ a: Tensor, _ b: Tensor) -> Tensor {
    recordForward(left(a) + right(b), inputs: built([a, b]))
  }
  func built(_ xs: [Tensor]) -> [Tensor] {
    inputsBuilt += 1
    return xs
  }
}

final class HookTests: XCTestCase {
  func testGlobalHookSeesEveryModuleInExecutionOrder() {
    let ae = TinyAutoencoder()
    let x = Tensor.rand([3, 784])
    var calls: [(String, [Int])] = []
    var firstInput: Tensor?
    let handle = ForwardHooks.registerGlobal { m, inputs, output in
      calls.append((String(describing: type(of: m)), output.shape))
      if firstInput == nil { firstInput = inputs.first }
    }
    let y = ae(x)
    handle.remove()
    // Hooks run after each forward: children before the Sequential, the Sequentials before the model.
    let linears = ae.encoder.layers.count + ae.decoder.layers.count + 3
    XCTAssertEqual(calls.count, linears)
    XCTAssertEqual(calls.map(\.0).suffix(2), ["Sequential", "TinyAutoencoder"])
    XCTAssertEqual(calls[ae.encoder.layers.count].0, "Sequential")
    XCTAssertEqual(calls[ae.encoder.layers.count].1, [3, 9])
    XCTAssertEqual(calls.first?.0, "Linear")
    XCTAssertEqual(calls.first?.1, [3, 128])
    XCTAssertEqual(calls.last?.1, y.shape)
    XCTAssertTrue(firstInput === x)
    XCTAssertFalse(ForwardHooks.isActive)
  }

  func testModuleHookFiresOnlyForItsModuleUntilRemoved() {
    let ae = TinyAutoencoder()
    let target = ae.decoder.layers[2] as! Linear
    var shapes: [[Int]] = []
    let handle = target.registerForwardHook { m, _, output in
      XCTAssertTrue(m === target)
      shapes.append(output.shape)
    }
    XCTAssertTrue(ForwardHooks.isActive)
    _ = ae(Tensor.rand([2, 784]))
    _ = ae(Tensor.rand([5, 784]))
    handle.remove()
    handle.remove()  // harmless
    XCTAssertFalse(ForwardHooks.isActive)
    _ = ae(Tensor.rand([1, 784]))
    XCTAssertEqual(shapes, [[2, 36], [5, 36]])
  }

  func testRecordForwardBuildsInputsOnlyWhenHooked() {
    let m = Mixer()
    let a = Tensor.rand([2, 3])
    let b = Tensor.rand([2, 2])
    _ = m(a, b)
    XCTAssertEqual(m.inputsBuilt, 0)
    var seen: [(Int, [Int])] = []
    let handle = m.registerForwardHook { _, inputs, output in
      seen.append((inputs.count, output.shape))
    }
    defer { handle.remove() }
    _ = m(a, b)
    XCTAssertEqual(m.inputsBuilt, 1)
    XCTAssertEqual(seen.count, 1)
    XCTAssertEqual(seen.first?.0, 2)
    XCTAssertEqual(seen.first?.1, [2, 4])
  }
}
