/// PEFT's `peft_type` values, spelled as adapter_config.json writes them.
public enum PeftType: String, Codable, Sendable, CaseIterable {
  case lora = "LORA"
  case promptTuning = "PROMPT_TUNING"
}

/// PEFT's `task_type` values (which head the adapted model has).
public enum PeftTaskType: String, Codable, Sendable, CaseIterable {
  case sequenceClassification = "SEQ_CLS"
  case seq2SeqLM = "SEQ_2_SEQ_LM"
  case causalLM = "CAUSAL_LM"
  case tokenClassification = "TOKEN_CLS"
  case questionAnswering = "QUESTION_ANS"
  case featureExtraction = "FEATURE_EXTRACTION"
}
