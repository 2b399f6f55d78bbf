/// Failures reading IDX files or the datasets built on them; the description names the file.
public struct IDXError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: String, Sendable {
    case missingFile, io, badGzip, badMagic, badDimensions, truncated, trailingBytes, countMismatch, badLabel, empty
  }
  public let kind: Kind
  public let path: String
  public let message: String

  public init(_ kind: Kind, path: String, _ message: String) {
    self.kind = kind
    self.path = path
    self.message = message
  }

  public var description: String { "IDX file '\(path)': \(message)" }
}
