import LoomCore
import LoomNN
import XCTest

/// Declarations decide what a module holds: a plain tensor is not a parameter.
final class Declared: Module {
  @Parameter var scale = Tensor.ones([3]).requiringGrad()
  @Parameter var shift: Tensor? = nil
  @Buffer var count = Tensor.zeros([1])
  @Buffer(persistent: false) var table = Tensor.arange(0, 4)
  @Child(key: "c_attn") var cAttn: Linear
  @Child var extra: Linear? = nil
  let constant = Tensor.ones([5])  // plain: not part of the module
  let _scratch = Linear(2, 2)  // plain and `_`-prefixed: not a child
  let plain = Linear(3, 1)  // plain module: a child, but not replaceable

  override init() {
    _cAttn.wrappedValue = Linear(3, 3)
    super.init()
  }

  override func forward(_ x: Tensor) -> Tensor { plain(cAttn(x) * scale) }
}

/// A custom module without `Layer`: callable through `forward`.
final class TwoLayer: Module {
  @Child var first = Linear(4, 8)
  @Child var second = Linear(8, 2)
  override func forward(_ x: Tensor) -> Tensor { second(first(x).relu()) }
}

final class ModuleDeclarationTests: XCTestCase {
  func testOnlyDeclaredTensorsAreParametersAndNonPersistentBuffersAreNotSaved() {
    let m = Declared()
    XCTAssertEqual(
      m.namedParameters().map(\.0),
      ["scale", "c_attn.weight", "c_attn.bias", "plain.weight", "plain.bias"])
    XCTAssertFalse(m.parameters().contains { $0 === m.constant })
    XCTAssertEqual(m.namedBuffers().map(\.0), ["count", "table"])
    XCTAssertEqual(
      m.stateDict().keys.sorted(),
      ["c_attn.bias", "c_attn.weight", "count", "plain.bias", "plain.weight", "scale"])
    XCTAssertEqual(m.namedChildren.map(\.0), ["c_attn", "plain"])
    // Loading skips the non-persistent buffer and restores the persistent one.
    var dict = m.stateDict()
    dict["count"] = Tensor([Float(7)])
    XCTAssertNoThrow(try m.loadStateDict(dict))
    XCTAssertEqual(m.count.toArray(Float.self), [7])
    XCTAssertEqual(m.parameterCount(), 3 + 12 + 4)
  }

  func testAnyModuleIsCallableAndListItemsNeedNoCast() {
    let net = TwoLayer()
    XCTAssertEqual(net(Tensor.rand([5, 4])).shape, [5, 2])
    let list = ModuleList(Linear(4, 3), ReLU())
    let y = list[1](list[0](Tensor.ones([2, 4])))
    XCTAssertEqual(y.shape, [2, 3])
    XCTAssertTrue(y.toArray(Float.self).allSatisfy { $0 >= 0 })
    let declared = Declared()
    XCTAssertEqual(declared(Tensor.ones([2, 3])).shape, [2, 1])
  }

  func testModuleTreePrintsLikePyTorch() {
    let model = Sequential(
      Linear(4, 8), ReLU(), Dropout(0.1), LayerNorm(8), Linear(8, 2, bias: false),
      GELU(approximate: "tanh"))
    XCTAssertEqual(
      model.description,
      """
      Sequential(
        (0): Linear(in_features=4, out_features=8, bias=True)
        (1): ReLU()
        (2): Dropout(p=0.1, inplace=False)
        (3): LayerNorm((8,), eps=1e-05, elementwise_affine=True)
        (4): Linear(in_features=8, out_features=2, bias=False)
        (5): GELU(approximate='tanh')
      )
      """)
    XCTAssertEqual(
      TwoLayer().description,
      """
      TwoLayer(
        (first): Linear(in_features=4, out_features=8, bias=True)
        (second): Linear(in_features=8, out_features=2, bias=True)
      )
      """)
    XCTAssertEqual(
      Conv2d(3, 16, kernelSize: 3, padding: 1).description,
      "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))")
    XCTAssertEqual(
      BatchNorm2d(16).description,
      "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)")
    XCTAssertEqual(Embedding(10, 4).description, "Embedding(10, 4)")
  }

  func testRepeatedListItemsCollapseAndNestedListsIndent() {
    final class Stack: Module {
      @Child var h: [Linear] = [Linear(2, 2), Linear(2, 2), Linear(2, 2), Linear(2, 3)]
      @Child var heads = ModuleList(ReLU(), ReLU())
    }
    XCTAssertEqual(
      Stack().description,
      """
      Stack(
        (h): ModuleList(
          (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)
          (3): Linear(in_features=2, out_features=3, bias=True)
        )
        (heads): ModuleList(
          (0-1): 2 x ReLU()
        )
      )
      """)
  }
}
