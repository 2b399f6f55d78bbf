/// A validator with some of its rules switched off: findings of other rules are dropped.
public struct RuleFilteredValidator: Validator {
  public let base: any Validator
  public let enabled: Set<String>
  public var name: String { base.name }
  public var rules: [RuleDescription] { base.rules.filter { enabled.contains($0.id) } }

  public init(_ base: any Validator, enabled: Set<String>) {
    self.base = base
    self.enabled = enabled
  }

  public func validate(_ text: String) throws -> [Finding] {
    try base.validate(text).filter { enabled.contains($0.ruleId) }
  }
}
