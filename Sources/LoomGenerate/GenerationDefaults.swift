import LoomModels

extension GenerationConfig {
  /// The token settings transformers' `GenerationConfig.from_model_config` takes from a BART
  /// config: eos, pad, forced BOS/EOS (decoder_start_token_id is the model's own). Other
  /// generation fields keep HF's defaults.
  public init(defaultsOf config: BartConfig) {
    self.init()
    eosTokenIds = config.eosTokenId.map { [$0] } ?? []
    padTokenId = config.padTokenId
    forcedBosTokenId = config.forcedBosTokenId
    forcedEosTokenId = config.forcedEosTokenId
  }
}

extension GenerationConfig {
  /// transformers' defaults from a T5 config: eos (one id or a list) and pad; T5 forces
  /// no tokens.
  public init(defaultsOf config: T5Config) {
    self.init()
    eosTokenIds = config.eosTokenId?.ids ?? []
    padTokenId = config.padTokenId
  }
}
