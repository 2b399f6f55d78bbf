import Foundation

/// Renders Graphviz DOT text (e.g. `GraphDOT`'s autograd graphs) with the `dot` program.
public enum GraphViz {
  /// The `dot` executable on PATH, or nil when Graphviz is not installed.
  public static func dotExecutable(path: String? = ProcessInfo.processInfo.environment["PATH"])
    -> String?
  {
    for dir in (path ?? "").split(separator: ":") where !dir.isEmpty {
      let candidate = "\(dir)/dot"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  /// Writes `dot` to `dotPath` (default: `pngPath` with the extension .dot), always,
  /// then runs `dot -Tpng` to make `pngPath`. Throws a `PlotError` naming the file when
  /// Graphviz is missing (the DOT file is still there) or when `dot` fails.
  /// `searchPath` is where to look for `dot` (default: $PATH).
  public static func render(
    dot: String, toPNG pngPath: String, dotPath: String? = nil,
    searchPath: String? = ProcessInfo.processInfo.environment["PATH"]
  ) throws {
    let source =
      dotPath ?? (pngPath.hasSuffix(".png") ? String(pngPath.dropLast(4)) : pngPath) + ".dot"
    do {
      try dot.write(toFile: source, atomically: true, encoding: .utf8)
    } catch {
      throw PlotError(path: source, "cannot write the DOT file: \(error.localizedDescription)")
    }
    guard let executable = dotExecutable(path: searchPath) else {
      throw PlotError(
        path: pngPath,
        "Graphviz 'dot' was not found on PATH; wrote \(source). Install graphviz (apt install graphviz) to render"
      )
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = ["-Tpng", source, "-o", pngPath]
    let errors = Pipe()
    process.standardError = errors
    do {
      try process.run()
    } catch {
      throw PlotError(path: pngPath, "cannot run \(executable): \(error.localizedDescription)")
    }
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw PlotError(
        path: pngPath,
        "dot exited with status \(process.terminationStatus): \(message.trimmingCharacters(in: .whitespacesAndNewlines))"
      )
    }
  }
}
