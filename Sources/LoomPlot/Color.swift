/// An sRGB colour with components in [0, 1].
public struct Color: Equatable, Sendable {
  public var r, g, b, a: Double
  public init(r: Double, g: Double, b: Double, a: Double = 1) {
    self.r = r
    self.g = g
    self.b = b
    self.a = a
  }
  /// From 0xRRGGBB.
  public init(hex: UInt32, alpha: Double = 1) {
    self.init(r: Double(hex >> 16 & 0xFF) / 255, g: Double(hex >> 8 & 0xFF) / 255, b: Double(hex & 0xFF) / 255, a: alpha)
  }

  public static let black = Color(hex: 0x000000)
  public static let white = Color(hex: 0xFFFFFF)
  static let text = Color(hex: 0x222222)
  static let axis = Color(hex: 0x444444)
  static let grid = Color(hex: 0xE3E3E3)

  /// Ten distinguishable categorical colours (the widely used Tableau 10 set), one per class.
  public static let palette: [Color] = [
    0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD,
    0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF,
  ].map { Color(hex: $0) }

  public static func palette(_ i: Int) -> Color { palette[((i % palette.count) + palette.count) % palette.count] }
}
