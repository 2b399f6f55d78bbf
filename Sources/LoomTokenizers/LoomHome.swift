import Foundation

/// Loom's data directory: `$LOOM_HOME`, else `~/.cache/loom`.
public enum LoomHome {
  public static var url: URL {
    if let env = ProcessInfo.processInfo.environment["LOOM_HOME"], !env.isEmpty {
      return URL(fileURLWithPath: env, isDirectory: true)
    }
    return FileManager.default.homeDirectoryForCurrentUser
      .appendingPathComponent(".cache/loom", isDirectory: true)
  }

  public static let fetchCommand = "bash scripts/fetch-assets.sh"

  /// Path of an asset, throwing an error that names the install command when absent.
  public static func asset(_ relative: String) throws -> URL {
    let u = url.appendingPathComponent(relative)
    guard FileManager.default.fileExists(atPath: u.path) else {
      throw TokenizerError.missingAsset(path: u.path, command: fetchCommand)
    }
    return u
  }
}
