import Foundation

/// JSON has no NaN or infinity, so Loom writes a non-finite number in a log record as
/// `null` (what JavaScript's JSON.stringify writes; Python's json writes a bare NaN, which
/// strict JSON readers reject) and reads `null` back as NaN. One rule for every log Loom
/// writes: metrics.jsonl, trainer_log.jsonl and trainer_state.json's log_history.
public enum LogJSON {
  /// The record as a JSON object, with non-finite values as null.
  public static func object(_ record: [String: Double]) -> [String: Any] {
    record.mapValues { $0.isFinite ? $0 as Any : NSNull() }
  }

  /// One JSON-lines row (sorted keys, newline-terminated).
  public static func line(_ record: [String: Double]) throws -> Data {
    try JSONSerialization.data(withJSONObject: object(record), options: [.sortedKeys, .withoutEscapingSlashes])
      + Data("\n".utf8)
  }

  /// A record as `Codable` writes it: non-finite values as nil (null).
  static func encodable(_ record: [String: Double]) -> [String: Double?] {
    record.mapValues { $0.isFinite ? $0 : nil }
  }

  /// A record read back: null as NaN.
  static func decoded(_ record: [String: Double?]) -> [String: Double] {
    record.mapValues { $0 ?? .nan }
  }
}
