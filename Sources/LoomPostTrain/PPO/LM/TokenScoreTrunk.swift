import LoomCore
import LoomModels
import LoomNN

/// A causal LM's trunk as trl's `get_reward` runs it: hidden states [B, T, C] for ids [B, T] with
/// an attention mask, positions counting real tokens only (left padding), under the family's
/// `base_model_prefix`.
public protocol TokenScoreTrunk: Module {
  static var baseModelPrefix: String { get }
  /// The family's sequence-classification class, named in errors.
  static var classifierName: String { get }
  var hiddenSize: Int { get }
  var vocabularySize: Int { get }
  var initializerRange: Double { get }
  func hiddenStates(_ ids: Tensor, attentionMask: Tensor) -> Tensor
}

extension GPT2Model: TokenScoreTrunk {
  public static var classifierName: String { "GPT2ForSequenceClassification" }
  public var hiddenSize: Int { config.nEmbd }
  public var vocabularySize: Int { config.vocabSize }
  public var initializerRange: Double { config.initializerRange }
  public func hiddenStates(_ ids: Tensor, attentionMask: Tensor) -> Tensor { self(ids, attentionMask: attentionMask) }
}

extension LlamaModel: TokenScoreTrunk {
  public static var classifierName: String { "LlamaForSequenceClassification" }
  public var hiddenSize: Int { config.hiddenSize }
  public var vocabularySize: Int { config.vocabSize }
  public var initializerRange: Double { config.initializerRange }
  public func hiddenStates(_ ids: Tensor, attentionMask: Tensor) -> Tensor {
    // trl's position_ids = cumsum(mask) − mask: real tokens count from 0, a pad takes the count so far.
    let (b, t) = (ids.shape[0], ids.shape[1])
    let positions = MaskPositions.positions(attentionMask, lastColumns: t, padding: .tokensBefore)
    return self(ids, attentionMask: attentionMask, positionIds: Tensor(positions, shape: [b, t], device: ids.device))
  }
}

extension BloomModel: TokenScoreTrunk {
  public static var classifierName: String { "BloomForSequenceClassification" }
  public var hiddenSize: Int { config.hiddenSize }
  public var vocabularySize: Int { config.vocabSize }
  public var initializerRange: Double { config.initializerRange }
  /// ALiBi reads positions from the mask itself.
  public func hiddenStates(_ ids: Tensor, attentionMask: Tensor) -> Tensor { self(ids, attentionMask: attentionMask) }
}
