import Foundation
import LoomCore
import LoomNN

/// The Auto class a model class serves (HF's `AutoModel…` mappings).
public enum AutoTask: String, CaseIterable, Sendable {
  case model = "AutoModel"
  case causalLM = "AutoModelForCausalLM"
  case maskedLM = "AutoModelForMaskedLM"
  case sequenceClassification = "AutoModelForSequenceClassification"
  case seq2seqLM = "AutoModelForSeq2SeqLM"
  case preTraining = "AutoModelForPreTraining"
  case tokenClassification = "AutoModelForTokenClassification"
  case questionAnswering = "AutoModelForQuestionAnswering"
  /// An encoder alone (T5EncoderModel), HF's `AutoModelForTextEncoding`.
  case textEncoding = "AutoModelForTextEncoding"
}

/// One model class of a family: builds it from a config and loads a directory into it.
public struct ModelClass: Sendable {
  public let architecture: String
  let make: @Sendable (any PretrainedConfig) throws -> Module
  let load: @Sendable (any PretrainedConfig, String) throws -> Module

  public init<M: PretrainedModel>(_ type: M.Type) {
    architecture = M.architecture
    make = { try M.make(config: $0 as! M.Config) }
    load = { config, directory in
      let c = config as! M.Config
      try ModelDirectory.checkConfig(c, against: directory)
      guard let model = try ModelDirectory.buildForLoading({ try M.make(config: c) }) as? M else {
        throw LoomError("\(M.self).make(config:) built another class")
      }
      try ModelDirectory.loadWeights(into: model, config: c, from: directory)
      return model
    }
  }
}

/// A `model_type`: its config type and its class for each Auto task.
public struct ModelFamily: Sendable {
  public let modelType: String
  public let configType: any PretrainedConfig.Type
  public let classes: [AutoTask: ModelClass]
  let decode: @Sendable (String) throws -> any PretrainedConfig

  public init<C: PretrainedConfig>(_ modelType: String, config: C.Type, _ classes: [AutoTask: ModelClass]) {
    self.modelType = modelType
    configType = config
    self.classes = classes
    decode = { try ConfigFile.decode(C.self, at: $0) }
  }
}

/// `model_type` → family. A new family adds one line to `builtIn` (or calls
/// `register` from outside Loom).
public enum ModelRegistry {
  public static let builtIn: [ModelFamily] = [
    ModelFamily(
      "gpt2", config: GPT2Config.self,
      [
        .model: ModelClass(GPT2Model.self), .causalLM: ModelClass(GPT2LMHeadModel.self),
        .sequenceClassification: ModelClass(GPT2ForSequenceClassification.self),
      ]),
    ModelFamily(
      "llama", config: LlamaConfig.self,
      [
        .model: ModelClass(LlamaModel.self), .causalLM: ModelClass(LlamaForCausalLM.self),
        .sequenceClassification: ModelClass(LlamaForSequenceClassification.self),
        .tokenClassification: ModelClass(LlamaForTokenClassification.self),
      ]),
    ModelFamily(
      "bert", config: BertConfig.self,
      [
        .model: ModelClass(BertModel.self), .maskedLM: ModelClass(BertForMaskedLM.self),
        .preTraining: ModelClass(BertForPreTraining.self),
        .sequenceClassification: ModelClass(BertForSequenceClassification.self),
        .tokenClassification: ModelClass(BertForTokenClassification.self),
        .questionAnswering: ModelClass(BertForQuestionAnswering.self),
      ]),
    ModelFamily(
      "roberta", config: RobertaConfig.self,
      [
        .model: ModelClass(RobertaModel.self), .maskedLM: ModelClass(RobertaForMaskedLM.self),
        .preTraining: ModelClass(RobertaForMaskedLM.self),
        .sequenceClassification: ModelClass(RobertaForSequenceClassification.self),
        .tokenClassification: ModelClass(RobertaForTokenClassification.self),
        .questionAnswering: ModelClass(RobertaForQuestionAnswering.self),
      ]),
    ModelFamily(
      "distilbert", config: DistilBertConfig.self,
      [
        .model: ModelClass(DistilBertModel.self), .maskedLM: ModelClass(DistilBertForMaskedLM.self),
        .preTraining: ModelClass(DistilBertForMaskedLM.self),
        .sequenceClassification: ModelClass(DistilBertForSequenceClassification.self),
        .tokenClassification: ModelClass(DistilBertForTokenClassification.self),
        .questionAnswering: ModelClass(DistilBertForQuestionAnswering.self),
      ]),
    ModelFamily(
      "bart", config: BartConfig.self,
      [
        .model: ModelClass(BartModel.self), .seq2seqLM: ModelClass(BartForConditionalGeneration.self),
        .preTraining: ModelClass(BartForConditionalGeneration.self),
        .sequenceClassification: ModelClass(BartForSequenceClassification.self),
      ]),
    ModelFamily(
      "bloom", config: BloomConfig.self,
      [
        .model: ModelClass(BloomModel.self), .causalLM: ModelClass(BloomForCausalLM.self),
        .sequenceClassification: ModelClass(BloomForSequenceClassification.self),
        .tokenClassification: ModelClass(BloomForTokenClassification.self),
      ]),
    ModelFamily(
      "transformer", config: TransformerConfig.self,
      [.seq2seqLM: ModelClass(TransformerSeq2SeqLM.self)]),
    ModelFamily(
      "t5", config: T5Config.self,
      [
        .model: ModelClass(T5Model.self), .seq2seqLM: ModelClass(T5ForConditionalGeneration.self),
        .textEncoding: ModelClass(T5EncoderModel.self),
      ]),
    ModelFamily(
      "switch_transformers", config: SwitchTransformersConfig.self,
      [
        .model: ModelClass(SwitchTransformersModel.self),
        .seq2seqLM: ModelClass(SwitchTransformersForConditionalGeneration.self),
      ]),
    ModelFamily("ae", config: AutoencoderConfig.self, [.model: ModelClass(Autoencoder.self)]),
    ModelFamily("dae", config: AutoencoderConfig.self, [.model: ModelClass(Autoencoder.self)]),
    ModelFamily("vae", config: VAEConfig.self, [.model: ModelClass(VAE.self)]),
    ModelFamily("conv-vae", config: VAEConfig.self, [.model: ModelClass(ConvVAE.self)]),
  ]

  private final class Table: @unchecked Sendable {
    let lock = NSLock()
    var families: [String: ModelFamily] = Dictionary(uniqueKeysWithValues: builtIn.map { ($0.modelType, $0) })
  }
  private static let table = Table()

  /// Adds (or replaces) a family, e.g. one defined in an application.
  public static func register(_ family: ModelFamily) {
    table.lock.withLock { table.families[family.modelType] = family }
  }

  public static func family(_ modelType: String) -> ModelFamily? {
    table.lock.withLock { table.families[modelType] }
  }

  public static var supportedModelTypes: [String] {
    table.lock.withLock { table.families.keys.sorted() }
  }

  static func unsupported(_ modelType: String, in path: String) -> LoomError {
    LoomError(
      "\(path): model_type '\(modelType)' is not supported yet (supported: \(supportedModelTypes.joined(separator: ", ")))")
  }

  /// The family and decoded config of a model directory: by `model_type`, else by
  /// `architectures` (older configs).
  static func resolve(_ directory: String) throws -> (family: ModelFamily, config: any PretrainedConfig) {
    try ModelDirectory.requireDirectory(directory)
    let path = directory + "/config.json"
    let object = try ConfigFile.object(at: path)
    let family: ModelFamily
    if let modelType = object["model_type"] as? String {
      guard let f = Self.family(modelType) else { throw unsupported(modelType, in: path) }
      family = f
    } else {
      let architectures = object["architectures"] as? [String] ?? []
      let all = table.lock.withLock { table.families.values.sorted { $0.modelType < $1.modelType } }
      guard let f = all.first(where: { f in f.classes.values.contains { architectures.contains($0.architecture) } }) else {
        throw LoomError(
          "\(path) has no model_type\(architectures.isEmpty ? "" : " and Loom has none of its architectures \(architectures)"); add \"model_type\" (supported: \(supportedModelTypes.joined(separator: ", ")))")
      }
      family = f
    }
    return (family, try family.decode(path))
  }

  /// Loads `directory` as `task`'s class of its family.
  static func load(_ task: AutoTask, from directory: String) throws -> Module {
    let (family, config) = try resolve(directory)
    guard let cls = family.classes[task] else {
      let has = AutoTask.allCases.filter { family.classes[$0] != nil }.map(\.rawValue).joined(separator: ", ")
      throw LoomError(
        "\(directory)/config.json: model_type '\(family.modelType)' has no \(task.rawValue) class in Loom (it has: \(has))")
    }
    return try cls.load(config, directory)
  }
}

/// HF's `AutoConfig.from_pretrained`: the config of a model directory, typed by its `model_type`.
public enum AutoConfig {
  public static func from(directory: String) throws -> any PretrainedConfig {
    try ModelRegistry.resolve(directory).config
  }
}

/// HF's `AutoModel`: the family's base model (GPT-2 → `GPT2Model`, an autoencoder → itself).
public enum AutoModel {
  public static func from(directory: String) throws -> Module { try ModelRegistry.load(.model, from: directory) }

  /// A freshly initialised base model (HF's `AutoModel.from_config`).
  public static func from(config: any PretrainedConfig) throws -> Module {
    let modelType = type(of: config).modelType
    guard let cls = ModelRegistry.family(modelType)?.classes[.model] else {
      throw ModelRegistry.unsupported(modelType, in: "config")
    }
    try config.validate()
    return try cls.make(config)
  }
}

/// HF's `AutoModelForCausalLM` (GPT-2 → `GPT2LMHeadModel`).
public enum AutoModelForCausalLM {
  /// `dtype`: `from_pretrained(…, torch_dtype=…)` (see `LoadingDType`); `quantization`:
  /// `from_pretrained(…, quantization_config=…)`, the weights quantized as they are read, `report` told
  /// which layers were.
  public static func from(
    directory: String, dtype: DType = .float32, quantization: BitsAndBytesConfig? = nil,
    report: (QuantizationReport) -> Void = { _ in }
  ) throws -> Module & CausalLanguageModel {
    let model = try LoadingDType.load(in: dtype, quantization: quantization, report: report) {
      try ModelRegistry.load(.causalLM, from: directory)
    }
    guard let lm = model as? Module & CausalLanguageModel else {
      throw LoomError("\(type(of: model)) is registered as a causal LM but is not a CausalLanguageModel")
    }
    return lm
  }
}

/// HF's `AutoModelForMaskedLM` (BERT, RoBERTa, DistilBERT).
public enum AutoModelForMaskedLM {
  public static func from(directory: String) throws -> Module { try ModelRegistry.load(.maskedLM, from: directory) }
}

/// HF's `AutoModelForSequenceClassification` (BERT, RoBERTa, DistilBERT, BART).
public enum AutoModelForSequenceClassification {
  public static func from(directory: String) throws -> Module {
    try ModelRegistry.load(.sequenceClassification, from: directory)
  }
}

/// HF's `AutoModelForSeq2SeqLM` (BART → `BartForConditionalGeneration`, transformer →
/// `TransformerSeq2SeqLM`).
public enum AutoModelForSeq2SeqLM {
  /// `dtype`: `from_pretrained(…, torch_dtype=…)` (see `LoadingDType`).
  public static func from(directory: String, dtype: DType = .float32) throws -> Module & EncoderDecoderModel {
    let model = try LoadingDType.load(in: dtype) { try ModelRegistry.load(.seq2seqLM, from: directory) }
    guard let s2s = model as? Module & EncoderDecoderModel else {
      throw LoomError("\(type(of: model)) is registered as a seq2seq LM but is not an EncoderDecoderModel")
    }
    return s2s
  }
}

/// HF's `AutoModelForPreTraining` (BERT → `BertForPreTraining`; RoBERTa → its masked LM).
public enum AutoModelForPreTraining {
  public static func from(directory: String) throws -> Module { try ModelRegistry.load(.preTraining, from: directory) }
}

/// HF's `AutoModelForTokenClassification`.
public enum AutoModelForTokenClassification {
  public static func from(directory: String) throws -> Module {
    try ModelRegistry.load(.tokenClassification, from: directory)
  }
}

/// HF's `AutoModelForQuestionAnswering`.
public enum AutoModelForQuestionAnswering {
  public static func from(directory: String) throws -> Module {
    try ModelRegistry.load(.questionAnswering, from: directory)
  }
}
