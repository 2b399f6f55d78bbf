import LoomModels

extension GenerationConfig {
  /// The token settings transformers' `GenerationConfig.from_model_config` takes from a BART
  /// config: eos (one or a list), pad, forced BOS/EOS, decoder start. Other generation
  /// fields keep HF's defaults.
  public init(defaultsOf config: BartConfig) {
    self.init()
    eosTokenIds = config.eosTokenIds
    padTokenId = config.padTokenId
    forcedBosTokenId = config.forcedBosTokenId
    forcedEosTokenId = config.forcedEosTokenId
    decoderStartTokenId = config.decoderStartTokenId
  }

  /// What `from_model_config` takes from a GPT-2 config: eos (one or a list) and pad.
  public init(defaultsOf config: GPT2Config) {
    self.init()
    eosTokenIds = config.eosTokenIds.filter { $0 < config.vocabSize }
    padTokenId = config.padTokenId
  }
}

extension GenerationConfig {
  /// transformers' defaults from a T5 config: eos (one id or a list) and pad; T5 forces
  /// no tokens.
  public init(defaultsOf config: T5Config) {
    self.init()
    eosTokenIds = config.eosTokenIds
    padTokenId = config.padTokenId
  }
}

extension GenerationConfig {
  /// transformers' defaults from a Switch Transformers config: eos, pad and the decoder start
  /// (HF's config leaves it unset; the seeds pass decoder_start_token_id = pad).
  public init(defaultsOf config: SwitchTransformersConfig) {
    self.init()
    eosTokenIds = config.eosTokenIds
    padTokenId = config.padTokenId
    decoderStartTokenId = config.decoderStartTokenId ?? config.bosTokenId
  }
}
