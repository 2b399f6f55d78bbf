import Foundation

public enum TokenizerError: Error, CustomStringConvertible, Equatable {
  case missingAsset(path: String, command: String)
  case missingFile(String)
  case malformed(file: String, place: String, reason: String)
  case emptyCorpus([String])
  case invalidArgument(String)

  public var description: String {
    switch self {
    case .missingAsset(let p, let c): return "missing asset \(p); install it with `\(c)`"
    case .missingFile(let p): return "no such file: \(p)"
    case .malformed(let f, let place, let r): return "\(f): \(place): \(r)"
    case .emptyCorpus(let fs): return "empty corpus: no words in \(fs.joined(separator: ", "))"
    case .invalidArgument(let s): return s
    }
  }
}

extension TokenizerError: LocalizedError {
  public var errorDescription: String? { description }
}
