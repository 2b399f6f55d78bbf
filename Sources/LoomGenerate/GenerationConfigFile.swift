import Foundation
import LoomCore
import LoomIO
import LoomModels

/// Hugging Face's generation_config.json (what `save_pretrained` writes next to config.json
/// for a generative model): the `generate` defaults a model directory carries.
public struct GenerationConfigFile {
  public static let fileName = "generation_config.json"
  /// The file's values over HF's `GenerationConfig` defaults.
  public var config: GenerationConfig
  /// The keys the file sets (a flag left out takes these).
  public let keys: Set<String>
  public let path: String

  /// The fields read; others (`_from_model_config`, `use_cache`, …) are ignored as HF's
  /// `generate` ignores them here.
  struct Fields: Decodable {
    var decoder_start_token_id: Int?
    var eos_token_id: TokenIdList?
    var pad_token_id: Int?
    var forced_bos_token_id: Int?
    var forced_eos_token_id: Int?
    var max_length: Int?
    var max_new_tokens: Int?
    var min_length: Int?
    var min_new_tokens: Int?
    var num_beams: Int?
    var length_penalty: Double?
    var no_repeat_ngram_size: Int?
    var early_stopping: EarlyStoppingValue?
    var do_sample: Bool?
    var temperature: Double?
    var top_k: Int?
    var top_p: Double?
    var repetition_penalty: Double?
    var num_return_sequences: Int?
  }

  /// HF's `early_stopping`: true, false or "never".
  struct EarlyStoppingValue: Decodable {
    let value: GenerationConfig.EarlyStopping
    init(from decoder: Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let b = try? c.decode(Bool.self) {
        value = b ? .enabled : .heuristic
      } else if (try? c.decode(String.self)) == "never" {
        value = .never
      } else {
        throw DecodingError.dataCorrupted(
          .init(
            codingPath: decoder.codingPath, debugDescription: "must be true, false or \"never\""))
      }
    }
  }

  /// Reads `directory`/generation_config.json; nil when the directory has none. Malformed
  /// JSON, a wrongly typed or out-of-range field throws naming the file and the field.
  public static func load(directory: String) throws -> GenerationConfigFile? {
    let path = directory + "/" + fileName
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let data: Data
    do { data = try FileInput.read(path, limit: 1 << 20) } catch { throw LoomError("\(error)") }
    return try GenerationConfigFile(data: data, path: path)
  }

  public init(data: Data, path: String) throws {
    let object: Any
    do { object = try JSONInput.parse(data, path: path) } catch { throw LoomError("\(error)") }
    guard let dict = object as? [String: Any] else {
      throw LoomError("\(path) is not a JSON object")
    }
    let f: Fields
    do { f = try JSONInput.decode(Fields.self, from: data, path: path) } catch {
      throw LoomError("\(error)")
    }
    var g = GenerationConfig()
    // max_new_tokens wins over max_length in HF; a file holding both keeps both.
    g.maxLength = f.max_length
    g.maxNewTokens = f.max_new_tokens
    if let v = f.min_length { g.minLength = v }
    if let v = f.min_new_tokens { g.minNewTokens = v }
    if let v = f.num_beams { g.numBeams = v }
    if let v = f.length_penalty { g.lengthPenalty = v }
    if let v = f.no_repeat_ngram_size { g.noRepeatNgramSize = v }
    if let v = f.early_stopping { g.earlyStopping = v.value }
    if let v = f.do_sample { g.doSample = v }
    if let v = f.temperature { g.temperature = v }
    if let v = f.top_k { g.topK = v }
    if let v = f.top_p { g.topP = v }
    if let v = f.repetition_penalty { g.repetitionPenalty = v }
    if let v = f.num_return_sequences { g.numReturnSequences = v }
    g.eosTokenIds = f.eos_token_id?.ids ?? []
    g.padTokenId = f.pad_token_id
    g.forcedBosTokenId = f.forced_bos_token_id
    g.forcedEosTokenId = f.forced_eos_token_id
    g.decoderStartTokenId = f.decoder_start_token_id
    let tokens = [
      f.pad_token_id, f.forced_bos_token_id, f.forced_eos_token_id, f.decoder_start_token_id,
    ]
    for (key, id) in zip(
      ["pad_token_id", "forced_bos_token_id", "forced_eos_token_id", "decoder_start_token_id"],
      tokens)
    {
      if let id, id < 0 {
        throw LoomError("\(path): field '\(key)' must be a token id >= 0, got \(id)")
      }
    }
    if let bad = g.eosTokenIds.first(where: { $0 < 0 }) {
      throw LoomError("\(path): field 'eos_token_id' must hold token ids >= 0, got \(bad)")
    }
    do {
      try g.validateRanges { "field '\($0)'" }
    } catch let e as LoomError {
      throw LoomError("\(path): \(e.message)")
    }
    config = g
    keys = Set(dict.filter { !($0.value is NSNull) }.keys)
    self.path = path
  }

  /// HF's `model.generation_config`: this file's values when there is one, its missing
  /// eos/pad/decoder-start ids taken from `model` (config.json's); else `model`.
  public static func defaults(directory: String, model: GenerationConfig) throws -> (
    config: GenerationConfig, file: GenerationConfigFile?
  ) {
    guard let file = try load(directory: directory) else { return (model, nil) }
    var g = file.config
    if g.eosTokenIds.isEmpty { g.eosTokenIds = model.eosTokenIds }
    if g.padTokenId == nil { g.padTokenId = model.padTokenId }
    if g.decoderStartTokenId == nil { g.decoderStartTokenId = model.decoderStartTokenId }
    return (g, file)
  }
}
