import LoomModels

extension GenerationConfig {
  /// What `from_model_config` takes from a BLOOM config: eos (one or a list) and pad.
  public init(defaultsOf config: BloomConfig) {
    self.init()
    eosTokenIds = config.eosTokenIds.filter { $0 < config.vocabSize }
    padTokenId = config.padTokenId
  }
}
