import Foundation

/// One audit record: one validator's verdict on one text, and whether that text was released.
public struct AuditRecord: Codable, Sendable, Equatable {
  public var time: String
  public var model: String
  public var promptSha256: String
  public var stage: CageStage
  /// 1 for the first generation; input records have 0.
  public var attempt: Int
  public var validator: String
  public var verdict: ValidatorVerdict.Result
  public var policy: OnFail
  public var findings: [Finding]
  public var error: String?
  public var released: Bool

  enum CodingKeys: String, CodingKey {
    case time, model, stage, attempt, validator, verdict, policy, findings, error, released
    case promptSha256 = "prompt_sha256"
  }
}

/// The audit log: JSON lines, one per validator verdict, appended and written through per record so that every rejected and
/// every released text can be traced even when the process dies afterwards.
public final class AuditLog: @unchecked Sendable {
  public let path: String
  let handle: FileHandle
  let lock = NSLock()
  let encoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return e
  }()

  /// Opens (creating when missing) `path` for appending.
  public init(path: String) throws {
    if !FileManager.default.fileExists(atPath: path) {
      guard FileManager.default.createFile(atPath: path, contents: nil) else {
        throw CageError("audit log \(path): cannot be created (does its directory exist and is it writable?)")
      }
    }
    guard let h = FileHandle(forWritingAtPath: path) else {
      throw CageError("audit log \(path): cannot be opened for writing")
    }
    h.seekToEndOfFile()
    self.path = path
    handle = h
  }

  deinit { try? handle.close() }

  public static func sha256(_ text: String) -> String { SHA256.hex(text.utf8) }

  static func now() -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: Date())
  }

  /// One record per verdict of `check`.
  public func record(_ check: CageCheck, model: String, prompt: String, stage: CageStage, attempt: Int) throws {
    let time = Self.now()
    let hash = Self.sha256(prompt)
    for v in check.verdicts {
      try write(
        AuditRecord(
          time: time, model: model, promptSha256: hash, stage: stage, attempt: attempt, validator: v.validator,
          verdict: v.result, policy: v.policy, findings: v.findings, error: v.error, released: check.released))
    }
    if check.verdicts.isEmpty {
      // A cage without validators for this stage still leaves a trace of what it let through.
      try write(
        AuditRecord(
          time: time, model: model, promptSha256: hash, stage: stage, attempt: attempt, validator: "",
          verdict: .pass, policy: .noop, findings: [], error: nil, released: check.released))
    }
  }

  public func write(_ record: AuditRecord) throws {
    var line = try encoder.encode(record)
    line.append(UInt8(ascii: "\n"))
    lock.lock()
    defer { lock.unlock() }
    do {
      // One write(2) per record: on disk for every reader as soon as it returns.
      try handle.write(contentsOf: line)
    } catch {
      throw CageError("audit log \(path): cannot write (\(error)); nothing is released without its record")
    }
  }
}
