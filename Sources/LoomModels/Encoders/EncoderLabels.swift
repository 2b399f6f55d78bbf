import Foundation
import LoomCore

/// HF's `problem_type` for sequence classification.
public enum ProblemType: String, Codable, Sendable, CaseIterable {
  case regression
  case singleLabelClassification = "single_label_classification"
  case multiLabelClassification = "multi_label_classification"
}

/// The label fields every HF config carries (`id2label`, `label2id`, `num_labels`,
/// `problem_type`): `num_labels` is not written, it is the size of `id2label`.
public struct EncoderLabels: Codable, Sendable, Equatable {
  /// Keys are decimal strings, as config.json writes them.
  public var id2label: [String: String] = Self.defaultNames(2)
  public var label2id: [String: Int] = ["LABEL_0": 0, "LABEL_1": 1]
  public var problemType: ProblemType? = nil

  public init() {}

  public var numLabels: Int {
    get { id2label.count }
    set { setNames((0..<max(newValue, 0)).map { "LABEL_\($0)" }) }
  }

  /// Names in id order (`LABEL_i` where one is missing).
  public var names: [String] { (0..<numLabels).map { id2label[String($0)] ?? "LABEL_\($0)" } }

  /// Sets id2label and label2id from names in id order.
  public mutating func setNames(_ names: [String]) {
    id2label = Dictionary(uniqueKeysWithValues: names.enumerated().map { (String($0.offset), $0.element) })
    label2id = Dictionary(names.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
  }

  static func defaultNames(_ n: Int) -> [String: String] {
    Dictionary(uniqueKeysWithValues: (0..<n).map { (String($0), "LABEL_\($0)") })
  }

  /// The config.json fields, for a config holding this at `path`.
  static func fields<R>(_ path: WritableKeyPath<R, EncoderLabels>) -> [ConfigField<R>] {
    [
      .init("id2label", path.appending(path: \.id2label)), .init("label2id", path.appending(path: \.label2id)),
      .init("problem_type", path.appending(path: \.problemType)),
    ]
  }

  /// HF's rule: an explicit `num_labels` without a matching id2label makes `LABEL_i` names.
  mutating func applyNumLabels(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: JSONKey.self)
    guard let n = try c.decodeIfPresent(Int.self, forKey: JSONKey("num_labels")) else { return }
    guard (1...1 << 20).contains(n) else { throw LoomError("config: num_labels must be in 1...\(1 << 20), got \(n)") }
    if n != numLabels { numLabels = n }
  }

  func validate() throws {
    guard (1...1 << 20).contains(numLabels) else {
      throw LoomError("config: id2label must have 1...\(1 << 20) entries, got \(numLabels)")
    }
    for i in 0..<numLabels where id2label[String(i)] == nil {
      throw LoomError("config: id2label has no entry for id \(i) (keys must be 0..<\(numLabels))")
    }
  }
}
