// The protocol every check implements. A validator sees one text (a prompt, a generated candidate, a streamed
// prefix, a file) and returns its findings; an empty array is a pass. Throwing is a failure of the check itself,
// which the cage treats as a failed validation (fail closed), never as a pass.

public protocol Validator: Sendable {
  /// The name configurations use (`"c_code"`, `"secrets"`, `"pii"`, `"classifier"`, …).
  var name: String { get }
  /// Every rule this validator can report.
  var rules: [RuleDescription] { get }
  func validate(_ text: String) throws -> [Finding]
}

/// Errors of the cage and its validators: each says what failed and how to fix it.
public struct CageError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}
