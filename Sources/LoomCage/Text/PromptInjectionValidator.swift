import Foundation

/// Prompt-injection patterns, for input validators: instructions to ignore or override the earlier ones, requests to
/// reveal the system prompt, "act without rules" role play, and chat-template control tokens or role headers.
public struct PromptInjectionValidator: Validator {
  public let name = "prompt_injection"
  public init() {}

  static let patterns: [(rule: RuleDescription, regex: NSRegularExpression)] = [
    (
      RuleDescription(
        id: "text.injection.ignore-instructions", cwe: [1427], severity: .high,
        summary: "asks the model to ignore or override its instructions"),
      builtInRegex(
        "\\b(?:ignore|disregard|forget|override|bypass)\\s+(?:all\\s+|any\\s+|every\\s+|of\\s+)*(?:the\\s+|your\\s+|my\\s+|these\\s+|those\\s+)?(?:previous|prior|above|earlier|preceding|original|system|initial)?\\s*(?:instructions?|prompts?|rules|directions|guidelines|context)\\b",
        caseInsensitive: true)
    ),
    (
      RuleDescription(
        id: "text.injection.reveal-system-prompt", cwe: [1427, 200], severity: .high,
        summary: "asks for the system prompt or hidden instructions"),
      builtInRegex(
        "\\b(?:reveal|show|print|repeat|output|tell me|display|leak)\\s+(?:me\\s+)?(?:your|the)\\s+(?:system\\s+prompt|hidden\\s+(?:instructions|prompt)|initial\\s+(?:instructions|prompt)|instructions\\s+above)",
        caseInsensitive: true)
    ),
    (
      RuleDescription(
        id: "text.injection.role-override", cwe: [1427], severity: .high,
        summary: "asks the model to act without its rules (DAN, developer mode, jailbreak)"),
      builtInRegex(
        "\\b(?:you\\s+are\\s+now\\s+(?:DAN|in\\s+developer\\s+mode|unrestricted|jailbroken)|do\\s+anything\\s+now|developer\\s+mode\\s+(?:enabled|on)|jailbreak(?:ed)?\\b|(?:pretend|act)\\s+(?:that\\s+)?(?:you\\s+are|to\\s+be|as)\\s+[^.\\n]{0,60}\\b(?:without|no)\\s+(?:any\\s+)?(?:restrictions|rules|filters|limits))",
        caseInsensitive: true)
    ),
    (
      RuleDescription(
        id: "text.injection.control-tokens", cwe: [1427], severity: .medium,
        summary: "chat-template control tokens or a forged role header"),
      builtInRegex("(?m)<\\|(?:im_start|im_end|system|endoftext|start_header_id|eot_id)\\|>|\\[/?INST\\]|^\\s*(?:system|assistant)\\s*:", caseInsensitive: true)
    ),
  ]

  public static let allRules = patterns.map(\.rule)
  public var rules: [RuleDescription] { Self.allRules }

  public func validate(_ text: String) throws -> [Finding] {
    let index = TextIndex(text)
    return Self.patterns.flatMap { rule, regex in
      index.matches(regex).map { m in
        Finding(
          ruleId: rule.id, cwe: rule.cwe, severity: rule.severity, location: index.location(m.range),
          message: "\(rule.summary): '\(m.groups[0] ?? "")'")
      }
    }
  }
}
