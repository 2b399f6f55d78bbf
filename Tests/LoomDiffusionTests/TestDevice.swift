import Foundation
import LoomCore

/// `LOOM_TEST_DEVICE=emulated swift test …` runs this target's model-level tests on the
/// emulated device (memory only its backend may touch), with the same assertions.
enum TestDevice {
  static let device: Device = {
    guard let name = ProcessInfo.processInfo.environment["LOOM_TEST_DEVICE"], !name.isEmpty else { return .cpu }
    do { return try Device(parsing: name) } catch { fatalError("LOOM_TEST_DEVICE: \(error)") }
  }()

  /// Call from `setUp()`: new tensors, models and loaded weights go on the test device.
  static func apply() { Device.default = device }
}
