import Foundation
import Yams

/// The two spellings of a cage file.
public enum CageFileFormat: String, Sendable {
  case json, yaml

  /// `.json`, `.yml` and `.yaml` by extension; any other name by content: JSON starts with `{` or `[`, else YAML.
  public init(path: String, contents: Data) {
    switch (path as NSString).pathExtension.lowercased() {
    case "json": self = .json
    case "yml", "yaml": self = .yaml
    default:
      let first = contents.prefix(4096).first { ![0x20, 0x09, 0x0a, 0x0d, 0xef, 0xbb, 0xbf].contains($0) }
      self = first == UInt8(ascii: "{") || first == UInt8(ascii: "[") ? .json : .yaml
    }
  }
}

/// Where each value of a YAML cage file stands: the line of a key (or of a list item) by its key path,
/// e.g. `output[1].words`; the root is "". Empty for JSON files (Foundation's decoder gives no positions).
struct ConfigLines: Sendable {
  var byPath: [String: Int] = [:]

  subscript(path: String) -> Int? { byPath[path] }

  static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }
}

/// A YAML cage file read into the same `JSONValue` tree as a JSON one (one schema, one set of checks), plus the line
/// of every value. Scalars follow YAML 1.2's core schema — only `true`/`false` are booleans (YAML 1.1's `yes`, `no`,
/// `on`, `off` stay strings, so `words: [no]` is the word "no"), `null`/`~`/empty is null, numbers as written;
/// quoted scalars are always strings. Anchors and aliases work; a document whose aliases expand past `maxNodes`
/// values ("billion laughs") is refused, and so is nesting deeper than JSON's limit.
enum YAMLConfig {
  static let maxNodes = 100_000

  static let resolver: Resolver = {
    do {
      return try Resolver.basic.appending(.null).appending(.bool, "^(?:true|True|TRUE|false|False|FALSE)$")
        .appending(.int).appending(.float)
    } catch {
      // The pattern is a constant; the basic resolver (everything a string) would still be fail-safe here: every
      // typed key would then be refused with a clear "must be a number" error.
      return Resolver.basic
    }
  }()

  static func parse(_ text: String, source: String) throws -> (JSONValue, ConfigLines) {
    let root: Node?
    do {
      root = try Parser(yaml: text, resolver: resolver).singleRoot()
    } catch let error as YamlError {
      throw CageError(describe(error, source: source))
    }
    guard let root else { throw CageError("\(source): the YAML document is empty; list validators under input: or output:") }
    var converter = Converter(source: source)
    let value = try converter.convert(root, path: "", depth: 1)
    return (value, converter.lines)
  }

  /// `cage.yml:3:5: not valid YAML: <libyaml's problem> (<its context> at line L)`.
  static func describe(_ error: YamlError, source: String) -> String {
    switch error {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      let around = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
      return "\(source):\(mark.line):\(mark.column): not valid YAML: \(problem)\(around)"
    case .duplicatedKeysInMapping(let duplicates, let context):
      return "\(source):\(context.mark.line): not valid YAML: the key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) "
        + "appears more than once in one mapping"
    case .reader(let problem, let offset, _, _):
      return "\(source): not valid YAML: \(problem)\(offset.map { " at character \($0)" } ?? "")"
    default:
      return "\(source): not valid YAML: \(error)"
    }
  }

  private struct Converter {
    let source: String
    var lines = ConfigLines()
    var count = 0

    mutating func convert(_ node: Node, path: String, depth: Int) throws -> JSONValue {
      count += 1
      guard count <= YAMLConfig.maxNodes else {
        throw CageError(
          "\(source): the YAML document expands to more than \(YAMLConfig.maxNodes) values (aliases of aliases?); "
            + "a cage file is refused past that")
      }
      guard depth <= JSONValue.maxDepth else {
        throw CageError("\(source):\(node.mark?.line ?? 0): nesting deeper than the \(JSONValue.maxDepth) levels Loom reads")
      }
      if lines[path] == nil, let line = node.mark?.line { lines.byPath[path] = line }
      switch node {
      case .scalar(let scalar):
        return try convert(scalar, node: node, path: path)
      case .sequence(let sequence):
        return .array(
          try sequence.enumerated().map { i, item in try convert(item, path: "\(path)[\(i)]", depth: depth + 1) })
      case .mapping(let mapping):
        var object: [String: JSONValue] = [:]
        for (key, value) in mapping {
          guard case .scalar(let k) = key else {
            throw CageError("\(source):\(key.mark?.line ?? 0): a mapping key must be a plain name, not a list or mapping")
          }
          let childPath = ConfigLines.join(path, k.string)
          if let line = key.mark?.line { lines.byPath[childPath] = line }
          object[k.string] = try convert(value, path: childPath, depth: depth + 1)
        }
        return .object(object)
      case .alias:
        // Yams resolves aliases while composing; one left here names an anchor it did not know.
        throw CageError("\(source):\(node.mark?.line ?? 0): not valid YAML: an alias without its anchor")
      }
    }

    func convert(_ scalar: Node.Scalar, node: Node, path: String) throws -> JSONValue {
      let line = node.mark.map { ":\($0.line)" } ?? ""
      let tag = node.tag.rawValue
      switch tag {
      case Tag.Name.str.rawValue: return .string(scalar.string)
      case Tag.Name.null.rawValue: return .null
      case Tag.Name.bool.rawValue: return .bool(["true", "True", "TRUE"].contains(scalar.string))
      case Tag.Name.int.rawValue:
        guard let i = node.int else { throw CageError("\(source)\(line): '\(scalar.string)' is not a whole number Loom can hold") }
        return .number(Double(i))
      case Tag.Name.float.rawValue:
        guard let d = node.float, d.isFinite else {
          throw CageError("\(source)\(line): '\(scalar.string)' is not a finite number")
        }
        return .number(d)
      default:
        throw CageError(
          "\(source)\(line): the YAML tag '\(tag)' is not read in a cage file; write a plain string, "
            + "number, true/false, list or mapping")
      }
    }
  }
}
