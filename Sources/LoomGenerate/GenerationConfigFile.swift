import Foundation
import LoomCore
import LoomIO

/// A model directory's generation_config.json (HF's `GenerationConfig.save_pretrained`):
/// the generation defaults transformers' `generate` starts from, before its keyword
/// arguments (here: explicit settings, e.g. CLI flags) override them.
public struct GenerationConfigFile: Sendable {
  public static let fileName = "generation_config.json"

  /// HF's `decoder_start_token_id` (nil: the model config's).
  public var decoderStartTokenId: Int?
  public var eosTokenIds: [Int]?
  public var padTokenId: Int??
  public var forcedBosTokenId: Int??
  public var forcedEosTokenId: Int??
  public var maxLength: Int?
  public var maxNewTokens: Int?
  public var minNewTokens: Int?
  /// HF's `min_length`: for an encoder–decoder model, decoder tokens with the start token.
  public var minLength: Int?
  public var doSample: Bool?
  public var temperature: Double?
  public var topK: Int?
  public var topP: Double?
  public var repetitionPenalty: Double?
  public var noRepeatNgramSize: Int?
  public var numBeams: Int?
  public var lengthPenalty: Double?
  public var earlyStopping: GenerationConfig.EarlyStopping?
  public var numReturnSequences: Int?

  public init() {}

  /// The directory's file, or nil when it has none.
  public static func load(directory: String) throws -> GenerationConfigFile? {
    let path = directory + "/" + fileName
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let data: Data
    do { data = try FileInput.read(path, limit: 1 << 20) } catch { throw LoomError("\(error)") }
    let json: Any
    do { json = try JSONInput.parse(data, path: path) } catch let e as JSONInputError {
      throw LoomError(e.description)
    }
    guard let object = json as? [String: Any] else { throw LoomError("\(path) is not a JSON object") }
    return try GenerationConfigFile(object, path: path)
  }

  /// Reads HF's keys (others are ignored); a value of the wrong type names the key.
  public init(_ o: [String: Any], path: String) throws {
    func bad(_ key: String, _ what: String) -> LoomError {
      LoomError("\(path): \(key) must be \(what), got \(o[key].map { "\($0)" } ?? "nothing")")
    }
    func int(_ key: String) throws -> Int?? {
      guard let v = o[key] else { return .none }
      if v is NSNull { return .some(nil) }
      guard let n = v as? NSNumber, Double(n.intValue) == n.doubleValue else {
        throw bad(key, "an integer")
      }
      return .some(n.intValue)
    }
    func double(_ key: String) throws -> Double? {
      guard let v = o[key], !(v is NSNull) else { return nil }
      guard let n = v as? NSNumber, n.doubleValue.isFinite else { throw bad(key, "a number") }
      return n.doubleValue
    }
    decoderStartTokenId = try int("decoder_start_token_id") ?? nil
    if let v = o["eos_token_id"], !(v is NSNull) {
      if let list = v as? [NSNumber] {
        eosTokenIds = list.map(\.intValue)
      } else if let n = v as? NSNumber, Double(n.intValue) == n.doubleValue {
        eosTokenIds = [n.intValue]
      } else {
        throw bad("eos_token_id", "an integer or a list of integers")
      }
    }
    padTokenId = try int("pad_token_id")
    forcedBosTokenId = try int("forced_bos_token_id")
    forcedEosTokenId = try int("forced_eos_token_id")
    maxLength = try int("max_length") ?? nil
    maxNewTokens = try int("max_new_tokens") ?? nil
    minNewTokens = try int("min_new_tokens") ?? nil
    minLength = try int("min_length") ?? nil
    topK = try int("top_k") ?? nil
    noRepeatNgramSize = try int("no_repeat_ngram_size") ?? nil
    numBeams = try int("num_beams") ?? nil
    numReturnSequences = try int("num_return_sequences") ?? nil
    temperature = try double("temperature")
    topP = try double("top_p")
    repetitionPenalty = try double("repetition_penalty")
    lengthPenalty = try double("length_penalty")
    if let v = o["do_sample"], !(v is NSNull) {
      guard let b = v as? Bool else { throw bad("do_sample", "true or false") }
      doSample = b
    }
    if let v = o["early_stopping"], !(v is NSNull) {
      if let s = v as? String, s == "never" {
        earlyStopping = .never
      } else if let b = v as? Bool {
        earlyStopping = b ? .enabled : .heuristic
      } else {
        throw bad("early_stopping", "true, false or \"never\"")
      }
    }
  }
}
