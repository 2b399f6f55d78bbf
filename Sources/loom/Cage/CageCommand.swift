import ArgumentParser
import Foundation
import LoomCage
import LoomIO

/// `loom cage`: the safety cage on its own — check files or stdin, list the rules.
struct CageCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cage",
    abstract: "Check text or C code with the safety cage's validators (exit 0: all pass, 1: findings, 2: usage error).",
    subcommands: [CageCheckCommand.self, CageRulesCommand.self])
}

enum CageReportFormat: String, ExpressibleByArgument, CaseIterable {
  case text, json, sarif
}

/// A usage error found while running (a cage file or an input that cannot be read). `Loom.main` exits with 2 for it
/// and for `loom cage`'s parse and validation errors, like grep and most linters (ArgumentParser's default is 64).
struct CageUsageError: Error, CustomStringConvertible {
  var description: String
}

struct CageCheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Run a cage's validators on files or stdin and print the findings.")

  @Option(help: "Cage file (JSON, or YAML as .yml/.yaml); without it the built-in cage of --lang.") var config: String?
  @Option(name: .customLong("file"), help: "A file to check (repeat for several).") var files: [String] = []
  @Flag(help: "Check standard input.") var stdin = false
  @Option(help: "Language of the built-in cage: c or text (default: by each file's extension; text for stdin).")
  var lang: String?
  @Option(help: "Report format: text, json or sarif.") var format: String = "text"
  @Option(help: "Files checked at once (threads; default: the number of cores).")
  var jobs = ProcessInfo.processInfo.activeProcessorCount

  func validate() throws {
    if files.isEmpty == !stdin {
      throw ValidationError("give --file F (one or more) or --stdin, not both")
    }
    if let lang, CageLanguage(rawValue: lang) == nil {
      throw ValidationError("--lang '\(lang)': allowed values: c, text")
    }
    if CageReportFormat(rawValue: format) == nil {
      throw ValidationError("--format '\(format)': allowed values: text, json, sarif")
    }
    if jobs < 1 { throw ValidationError("--jobs \(jobs): must be at least 1") }
  }

  func run() throws {
    let fixedCage: SafetyCage?
    do { fixedCage = try config.map { try CageConfig.load(path: $0) } } catch {
      throw CageUsageError(description: "--config: \(error)")
    }
    let inputs: [(uri: String, read: () throws -> Data)] =
      stdin
      ? [("stdin", { FileHandle.standardInput.readDataToEndOfFile() })]
      : files.map { path in (path, { try FileInput.read(path) }) }
    let cages = inputs.map { input in
      fixedCage ?? SafetyCage.defaultCage(lang.flatMap(CageLanguage.init(rawValue:)) ?? (stdin ? .text : CageLanguage(path: input.uri)))
    }
    var rules: [RuleDescription] = []
    for cage in cages { rules += cage.rules.filter { r in !rules.contains { $0.id == r.id } } }
    // Files are independent: `jobs` workers take every jobs-th file; the report keeps the command line's order.
    var results = [Result<CheckedArtifact, Error>?](repeating: nil, count: inputs.count)
    let lock = NSLock()
    let workers = min(jobs, inputs.count)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      for i in stride(from: worker, to: inputs.count, by: workers) {
        let result = Result { () throws -> CheckedArtifact in
          let data = try inputs[i].read()
          let (text, failure) = CheckedArtifact.reading(data, uri: inputs[i].uri, maxBytes: cages[i].maxInputBytes)
          return failure ?? CheckedArtifact(uri: inputs[i].uri, text: text, verdicts: cages[i].inspect(text!))
        }
        lock.lock()
        results[i] = result
        lock.unlock()
      }
    }
    var artifacts: [CheckedArtifact] = []
    for result in results {
      do { artifacts.append(try result!.get()) } catch { throw CageUsageError(description: "\(error)") }
    }
    switch CageReportFormat(rawValue: format)! {
    case .text: print(TextReport.render(artifacts))
    case .json: print(try JSONReport.render(artifacts))
    case .sarif: print(try SARIFReport.render(artifacts, rules: rules))
    }
    if !artifacts.allSatisfy(\.passed) { throw ExitCode(1) }
  }
}

struct CageRulesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rules", abstract: "List the cage's rules: id, CWEs, default severity, summary.")

  @Option(help: "Output format: text or json.") var format: String = "text"

  func validate() throws {
    if format != "text" && format != "json" {
      throw ValidationError("--format '\(format)': allowed values: text, json")
    }
  }

  func run() throws {
    let rules = ValidatorCatalog.allRules
    if format == "json" {
      let e = JSONEncoder()
      e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      print(String(decoding: try e.encode(rules), as: UTF8.self))
      return
    }
    let width = rules.map(\.id.count).max() ?? 10
    for r in rules {
      let cwe = r.cwe.isEmpty ? "-" : r.cwe.map { "CWE-\($0)" }.joined(separator: ",")
      print(
        r.id.padding(toLength: width + 2, withPad: " ", startingAt: 0)
          + cwe.padding(toLength: 18, withPad: " ", startingAt: 0)
          + r.severity.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + r.summary)
    }
  }
}
