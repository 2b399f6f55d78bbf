import Foundation
import LoomCore
import LoomDatasets
import LoomModels

/// The label side of `loom train classify`, as HF's run_classification decides it: the
/// problem type, the label names (id2label) and each file's targets.
struct ClassifyLabels {
  let problem: ProblemType
  let names: [String]
  let separator: String?

  /// What the model trains on: class ids (single-label) or float rows (regression: one value;
  /// multi-label: a 0/1 vector over `names`).
  enum Targets {
    case ids([Int])
    case floats([[Float]])
  }

  /// `problem` from --problem-type, else inferred from the training labels as HF does: list
  /// cells (or a --label-separator) mean multi-label, numbers with fractions (a float column)
  /// regression, anything else single-label. `modelNames` are the model's own id2label when it
  /// names them (not LABEL_i).
  init(train: LabelledText, problem: ProblemType?, separator: String?, modelNames: [String]?, source: String) throws {
    let column = try train.labelColumn
    let name = train.labelName
    let inferred: ProblemType
    let isList = try column.isListColumn(name)
    if separator != nil || isList {
      inferred = .multiLabelClassification
    } else if try column.isFloatColumn(name) {
      inferred = .regression
    } else {
      inferred = .singleLabelClassification
    }
    self.problem = problem ?? inferred
    self.separator = separator
    switch self.problem {
    case .regression:
      names = modelNames?.count == 1 ? modelNames! : ["LABEL_0"]
    case .multiLabelClassification:
      let lists: [[String]]
      do { lists = try column.labelLists(name, separator: separator) } catch { throw LoomError("\(source): \(error)") }
      names = modelNames ?? LabelledText.labelNames(lists.flatMap { $0 })
      guard !names.isEmpty else {
        throw LoomError(
          "\(source): the label column '\(name)' holds no labels; multi-label rows list theirs, e.g. \"a;b\" with --label-separator ';'"
        )
      }
    case .singleLabelClassification:
      let text: [String]
      do { text = try column.strings(name) } catch { throw LoomError("\(source): \(error)") }
      names = modelNames ?? LabelledText.labelNames(text)
      guard names.count >= 2 else {
        throw LoomError(
          "\(source): the label column '\(name)' has only one label (\(names.first ?? "")); a classifier needs at least two"
        )
      }
    }
  }

  /// The targets of `d` (a label outside `names` is an error naming row and file).
  func targets(_ d: LabelledText, source: String) throws -> Targets {
    let column = try d.labelColumn
    switch problem {
    case .singleLabelClassification:
      return .ids(try d.labelIds(names, source: source))
    case .regression:
      do { return .floats(try column.doubles(d.labelName).map { [Float($0)] }) } catch {
        throw LoomError("\(source): \(error)")
      }
    case .multiLabelClassification:
      let label = try ClassLabel(names: names)
      do {
        return .floats(
          try column.labelLists(d.labelName, separator: separator).enumerated().map { i, l in
            do { return try label.multiHot(l) } catch { throw LoomError("row \(i + 1): \(error)") }
          })
      } catch {
        throw LoomError("\(source): \(error); every label must occur in the training data (or the model's id2label)")
      }
    }
  }

  /// The config.json fields the classifier gets.
  var configEdits: [String: Any] {
    [
      "id2label": Dictionary(uniqueKeysWithValues: names.enumerated().map { (String($0), $1) }),
      "label2id": Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) }),
      "problem_type": problem.rawValue,
    ]
  }

  /// The metric the best checkpoint is chosen by, and whether larger is better.
  var bestMetric: (name: String, greaterIsBetter: Bool) {
    switch problem {
    case .singleLabelClassification: return ("accuracy", true)
    case .regression: return ("mse", false)
    case .multiLabelClassification: return ("f1_micro", true)
    }
  }
}
