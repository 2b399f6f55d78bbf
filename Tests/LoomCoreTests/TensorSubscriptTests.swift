import LoomCore
import XCTest

final class TensorSubscriptTests: XCTestCase {
  let grid = Tensor((0..<12).map { Float($0) }, shape: [3, 4])

  func testIntegersAndRangesSelectViews() {
    XCTAssertEqual(grid[1].shape, [4])
    XCTAssertEqual(grid[1].toArray(Float.self), [4, 5, 6, 7])
    XCTAssertEqual(grid[-1].toArray(Float.self), [8, 9, 10, 11])
    XCTAssertEqual(grid[1, 2].shape, [])
    XCTAssertEqual(grid[1, 2].item(), 6)
    XCTAssertEqual(grid[..., 0..<3].shape, [3, 3])
    XCTAssertEqual(grid[..., 0..<3].toArray(Float.self), [0, 1, 2, 4, 5, 6, 8, 9, 10])
    XCTAssertEqual(grid[1...2, 3].toArray(Float.self), [7, 11])
    XCTAssertEqual(grid[..<1].toArray(Float.self), [0, 1, 2, 3])
    XCTAssertEqual(grid[0, 2...].toArray(Float.self), [2, 3])
    XCTAssertEqual(grid[0, ...].toArray(Float.self), [0, 1, 2, 3])
    XCTAssertEqual(grid[TensorIndex.ellipsis, 1].toArray(Float.self), [1, 5, 9])
    XCTAssertEqual(grid[TensorIndex.newAxis, 2].shape, [1, 4])
    XCTAssertEqual(
      grid[0, TensorIndex.slice(start: nil, end: nil, step: 2)].toArray(Float.self), [0, 2])
    XCTAssertEqual(grid[-2...(-1), -1].toArray(Float.self), [7, 11])
    // A view: shares storage with the original.
    XCTAssertTrue(grid[2].storage === grid.storage)
  }

  func testSubscriptsAreDifferentiable() {
    let x = Tensor((0..<6).map { Float($0) }, shape: [2, 3]).requiringGrad()
    let y = (x[1, 0..<2] * 3).sum() + x[0, 2]
    y.backward()
    XCTAssertEqual(x.grad?.toArray(Float.self), [0, 0, 1, 3, 3, 0])
  }

  func testPrintsShapedRowsLikePyTorch() {
    XCTAssertEqual(
      Tensor([Float(1), 2, 3, 4], shape: [2, 2]).description,
      "tensor([[1., 2.],\n        [3., 4.]])")
    XCTAssertEqual(Tensor([Float(0.5), 1.25]).description, "tensor([0.5000, 1.2500])")
    XCTAssertEqual(Tensor([Float(-0.5), 1.25]).description, "tensor([-0.5000,  1.2500])")
    XCTAssertEqual(
      Tensor((0..<6).map { Int64($0) }, shape: [2, 3]).description,
      "tensor([[0, 1, 2],\n        [3, 4, 5]])")
    XCTAssertEqual(
      Tensor([1e-5, 1.0]).description, "tensor([1.0000e-05, 1.0000e+00], dtype=float64)")
    XCTAssertEqual(Tensor([true, false]).description, "tensor([ True, False])")
    XCTAssertEqual(Tensor(scalar: Float(3.5)).description, "tensor(3.5000)")
    XCTAssertEqual(
      Tensor([Float(0.5), 1.25]).to(.bfloat16).description,
      "tensor([0.5000, 1.2500], dtype=bfloat16)")
    XCTAssertEqual(
      Tensor([Float(1), 2]).requiringGrad().description, "tensor([1., 2.], requires_grad=True)")
    XCTAssertEqual(
      Tensor((0..<8).map { Float($0) }, shape: [2, 2, 2]).description,
      "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])")
    XCTAssertEqual(Tensor.zeros([0, 3]).description, "tensor([], size=(0, 3))")
  }

  func testSummarisesBeyondAThousandElements() {
    XCTAssertEqual(
      Tensor((0..<2000).map { Int64($0) }).description,
      "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])")
    XCTAssertEqual(
      Tensor((0..<2000).map { Float($0) }).description,
      "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])"
    )
    XCTAssertEqual(
      Tensor((0..<1100).map { Int64($0) }, shape: [100, 11]).description,
      """
      tensor([[   0,    1,    2,  ...,    8,    9,   10],
              [  11,   12,   13,  ...,   19,   20,   21],
              [  22,   23,   24,  ...,   30,   31,   32],
              ...,
              [1067, 1068, 1069,  ..., 1075, 1076, 1077],
              [1078, 1079, 1080,  ..., 1086, 1087, 1088],
              [1089, 1090, 1091,  ..., 1097, 1098, 1099]])
      """)
  }
}
