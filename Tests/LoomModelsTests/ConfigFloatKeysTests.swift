import Foundation
import XCTest

@testable import LoomModels

/// transformers' config dataclasses reject an integer for some float fields (GPT-2's
/// layer_norm_epsilon, BERT's layer_norm_eps, BART's init_std, …; measured with
/// transformers 5.25 by writing `int(default)` into each float field). Loom's
/// config.json writes those keys with a decimal point even when the value is integral.
final class ConfigFloatKeysTests: XCTestCase {
  func testIntegralFloatsKeepTheirDecimalPoint() throws {
    let cases: [(String, AutoTask, [String: Any], [String])] = [
      ("gpt2", .causalLM, ["n_embd": 8, "n_head": 2, "n_layer": 1, "vocab_size": 16, "n_positions": 8],
       ["layer_norm_epsilon", "initializer_range"]),
      ("bert", .maskedLM, small, ["layer_norm_eps", "initializer_range"]),
      ("roberta", .maskedLM, small, ["layer_norm_eps", "initializer_range"]),
      ("distilbert", .maskedLM, ["dim": 8, "n_heads": 2, "n_layers": 1, "hidden_dim": 16, "vocab_size": 16],
       ["initializer_range"]),
      ("bart", .seq2seqLM,
       ["d_model": 8, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
        "decoder_attention_heads": 2, "encoder_ffn_dim": 16, "decoder_ffn_dim": 16, "vocab_size": 16],
       ["init_std", "encoder_layerdrop", "decoder_layerdrop"]),
    ]
    for (type, task, base, keys) in cases {
      var fields = base
      for k in keys { fields[k] = k.contains("layerdrop") ? 0 : 1 }
      let config = try ModelRegistry.config(modelType: type, fields: fields)
      let model = try XCTUnwrap(ModelRegistry.make(task, config: config) as? any PretrainedModel, type)
      let text = String(decoding: try model.configJSON(), as: UTF8.self)
      for k in keys {
        let v = k.contains("layerdrop") ? "0.0" : "1.0"
        XCTAssertTrue(
          text.contains("\"\(k)\" : \(v)") || text.contains("\"\(k)\":\(v)"), "\(type): \(k) in \(text)")
      }
    }
  }

  private var small: [String: Any] {
    ["hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1, "intermediate_size": 16, "vocab_size": 16]
  }
}
