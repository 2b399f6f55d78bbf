import XCTest

@testable import LoomPlot

final class TicksTests: XCTestCase {
  /// Epoch axes get whole-number ticks, as matplotlib's MaxNLocator(integer=True).
  func testIntegerAxisHasWholeNumberTicks() {
    let epochs = AxisScale.linear(1, 2, integer: true)
    XCTAssertEqual(epochs.ticks, [1, 2])
    XCTAssertEqual(epochs.labels, ["1", "2"])
    let free = AxisScale.linear(1, 2)
    XCTAssertEqual(free.ticks.count, 6)  // 1.0, 1.2, … 2.0
    XCTAssertEqual(AxisScale.linear(1, 100, integer: true).ticks, [0, 20, 40, 60, 80, 100])
  }
}
