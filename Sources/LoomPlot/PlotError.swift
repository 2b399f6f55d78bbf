/// Failures building or writing a picture; the description names the output file.
public struct PlotError: Error, CustomStringConvertible, Equatable, Sendable {
  public let path: String
  public let message: String
  public init(path: String, _ message: String) {
    self.path = path
    self.message = message
  }
  public var description: String { "plot '\(path)': \(message)" }
}
