import LoomModels

extension GenerationConfig {
  /// The token settings generation takes from an original-Transformer config: eos and pad
  /// (decoder_start_token_id is the model's own); nothing is forced.
  public init(defaultsOf config: TransformerConfig) {
    self.init()
    eosTokenIds = config.eosTokenIds
    padTokenId = config.padTokenId
  }
}
