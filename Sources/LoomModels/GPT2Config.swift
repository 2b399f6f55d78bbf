import Foundation
import LoomCore

/// GPT-2's config.json (Hugging Face field names).
public struct GPT2Config: Codable, Equatable, Sendable {
  public var vocabSize: Int
  public var nPositions: Int
  public var nEmbd: Int
  public var nLayer: Int
  public var nHead: Int
  public var nInner: Int?
  public var activationFunction: String
  public var residPdrop: Double
  public var embdPdrop: Double
  public var attnPdrop: Double
  public var layerNormEpsilon: Double
  public var initializerRange: Double
  public var scaleAttnWeights: Bool
  public var scaleAttnByInverseLayerIdx: Bool
  public var tieWordEmbeddings: Bool
  public var bosTokenId: Int?
  public var eosTokenId: Int?
  public var padTokenId: Int?

  enum CodingKeys: String, CodingKey {
    case vocabSize = "vocab_size", nPositions = "n_positions", nEmbd = "n_embd", nLayer = "n_layer"
    case nHead = "n_head", nInner = "n_inner", activationFunction = "activation_function"
    case residPdrop = "resid_pdrop", embdPdrop = "embd_pdrop", attnPdrop = "attn_pdrop"
    case layerNormEpsilon = "layer_norm_epsilon", initializerRange = "initializer_range"
    case scaleAttnWeights = "scale_attn_weights", scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx"
    case tieWordEmbeddings = "tie_word_embeddings", bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
    case padTokenId = "pad_token_id", modelType = "model_type", architectures
  }

  public init(
    vocabSize: Int = 50257, nPositions: Int = 1024, nEmbd: Int = 768, nLayer: Int = 12, nHead: Int = 12,
    nInner: Int? = nil, activationFunction: String = "gelu_new", residPdrop: Double = 0.1, embdPdrop: Double = 0.1,
    attnPdrop: Double = 0.1, layerNormEpsilon: Double = 1e-5, initializerRange: Double = 0.02,
    bosTokenId: Int? = 50256, eosTokenId: Int? = 50256, padTokenId: Int? = nil
  ) {
    self.vocabSize = vocabSize
    self.nPositions = nPositions
    self.nEmbd = nEmbd
    self.nLayer = nLayer
    self.nHead = nHead
    self.nInner = nInner
    self.activationFunction = activationFunction
    self.residPdrop = residPdrop
    self.embdPdrop = embdPdrop
    self.attnPdrop = attnPdrop
    self.layerNormEpsilon = layerNormEpsilon
    self.initializerRange = initializerRange
    self.scaleAttnWeights = true
    self.scaleAttnByInverseLayerIdx = false
    self.tieWordEmbeddings = true
    self.bosTokenId = bosTokenId
    self.eosTokenId = eosTokenId
    self.padTokenId = padTokenId
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = GPT2Config()
    vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
    nPositions = try c.decodeIfPresent(Int.self, forKey: .nPositions) ?? d.nPositions
    nEmbd = try c.decodeIfPresent(Int.self, forKey: .nEmbd) ?? d.nEmbd
    nLayer = try c.decodeIfPresent(Int.self, forKey: .nLayer) ?? d.nLayer
    nHead = try c.decodeIfPresent(Int.self, forKey: .nHead) ?? d.nHead
    nInner = try c.decodeIfPresent(Int.self, forKey: .nInner)
    activationFunction = try c.decodeIfPresent(String.self, forKey: .activationFunction) ?? d.activationFunction
    residPdrop = try c.decodeIfPresent(Double.self, forKey: .residPdrop) ?? d.residPdrop
    embdPdrop = try c.decodeIfPresent(Double.self, forKey: .embdPdrop) ?? d.embdPdrop
    attnPdrop = try c.decodeIfPresent(Double.self, forKey: .attnPdrop) ?? d.attnPdrop
    layerNormEpsilon = try c.decodeIfPresent(Double.self, forKey: .layerNormEpsilon) ?? d.layerNormEpsilon
    initializerRange = try c.decodeIfPresent(Double.self, forKey: .initializerRange) ?? d.initializerRange
    scaleAttnWeights = try c.decodeIfPresent(Bool.self, forKey: .scaleAttnWeights) ?? true
    scaleAttnByInverseLayerIdx = try c.decodeIfPresent(Bool.self, forKey: .scaleAttnByInverseLayerIdx) ?? false
    tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
    bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId)
    eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId)
    padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode("gpt2", forKey: .modelType)
    try c.encode(["GPT2LMHeadModel"], forKey: .architectures)
    try c.encode(vocabSize, forKey: .vocabSize)
    try c.encode(nPositions, forKey: .nPositions)
    try c.encode(nEmbd, forKey: .nEmbd)
    try c.encode(nLayer, forKey: .nLayer)
    try c.encode(nHead, forKey: .nHead)
    try c.encode(nInner, forKey: .nInner)
    try c.encode(activationFunction, forKey: .activationFunction)
    try c.encode(residPdrop, forKey: .residPdrop)
    try c.encode(embdPdrop, forKey: .embdPdrop)
    try c.encode(attnPdrop, forKey: .attnPdrop)
    try c.encode(layerNormEpsilon, forKey: .layerNormEpsilon)
    try c.encode(initializerRange, forKey: .initializerRange)
    try c.encode(scaleAttnWeights, forKey: .scaleAttnWeights)
    try c.encode(scaleAttnByInverseLayerIdx, forKey: .scaleAttnByInverseLayerIdx)
    try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
    try c.encodeIfPresent(bosTokenId, forKey: .bosTokenId)
    try c.encodeIfPresent(eosTokenId, forKey: .eosTokenId)
    try c.encodeIfPresent(padTokenId, forKey: .padTokenId)
  }

  /// Checks the shape constraints a model needs, naming the field at fault.
  public func validate() throws {
    for (name, v) in [("vocab_size", vocabSize), ("n_positions", nPositions), ("n_embd", nEmbd), ("n_layer", nLayer), ("n_head", nHead)]
    where v <= 0 {
      throw LoomError("config: \(name) must be positive, got \(v)")
    }
    guard nEmbd % nHead == 0 else {
      throw LoomError("config: n_embd (\(nEmbd)) must be divisible by n_head (\(nHead))")
    }
    guard ["gelu_new", "gelu", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh"].contains(activationFunction) else {
      throw LoomError("config: unsupported activation_function '\(activationFunction)'")
    }
  }

  /// The seeds' character-level scratch model (6 layers, 6 heads, 384 wide, block 256, dropout 0.2).
  public static func seed(vocabSize: Int) -> GPT2Config {
    var c = GPT2Config(
      vocabSize: vocabSize, nPositions: 256, nEmbd: 384, nLayer: 6, nHead: 6, residPdrop: 0.2, embdPdrop: 0.2,
      attnPdrop: 0.2, bosTokenId: nil, eosTokenId: nil)
    c.activationFunction = "gelu_new"
    return c
  }

  public static let small = GPT2Config()
  public static let medium = GPT2Config(nEmbd: 1024, nLayer: 24, nHead: 16)

  /// Presets by name (`seed`, `gpt2`/`small`, `gpt2-medium`/`medium`, `tiny`).
  public static func preset(_ name: String, vocabSize: Int) throws -> GPT2Config {
    switch name {
    case "seed", "scratch": return .seed(vocabSize: vocabSize)
    case "tiny":
      return GPT2Config(vocabSize: vocabSize, nPositions: 128, nEmbd: 128, nLayer: 4, nHead: 4, residPdrop: 0.1,
                        embdPdrop: 0.1, attnPdrop: 0.1, bosTokenId: nil, eosTokenId: nil)
    case "gpt2", "small", "gpt2-small":
      var c = GPT2Config.small
      c.vocabSize = vocabSize
      return c
    case "gpt2-medium", "medium":
      var c = GPT2Config.medium
      c.vocabSize = vocabSize
      return c
    default: throw LoomError("unknown preset '\(name)' (use seed, tiny, gpt2 or gpt2-medium)")
    }
  }
}
