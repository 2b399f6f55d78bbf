import LoomCore

/// One batch as named tensors, keyed by Hugging Face's model input names (`input_ids`,
/// `attention_mask`, `labels`, `pixel_values`, …), so encoders, encoder–decoders and
/// diffusion models get their inputs by name instead of a fixed inputs/labels pair.
public struct Batch: @unchecked Sendable {
  /// HF's input names.
  public enum Key {
    public static let inputIds = "input_ids"
    public static let attentionMask = "attention_mask"
    public static let tokenTypeIds = "token_type_ids"
    public static let positionIds = "position_ids"
    public static let labels = "labels"
    public static let decoderInputIds = "decoder_input_ids"
    public static let decoderAttentionMask = "decoder_attention_mask"
    public static let pixelValues = "pixel_values"
    /// Raw float features (HF's name for non-token, non-image model inputs).
    public static let inputValues = "input_values"
    public static let timesteps = "timesteps"
    public static let noise = "noise"
  }

  public var tensors: [String: Tensor]
  /// The key of the model's main input (HF's `main_input_name`): what `inputs` returns
  /// and what throughput counts.
  public var mainInputName: String

  /// A batch of named tensors; the main input defaults to `input_ids`, else
  /// `pixel_values`, else `input_values`.
  public init(_ tensors: [String: Tensor], mainInputName: String? = nil) {
    self.tensors = tensors
    self.mainInputName =
      mainInputName ?? [Key.inputIds, Key.pixelValues, Key.inputValues].first { tensors[$0] != nil }
      ?? Key.inputIds
  }

  /// The classic inputs/labels pair: integer inputs are `input_ids`, floating-point ones
  /// `input_values` (`pixel_values` for images: use the named initialiser).
  public init(inputs: Tensor, labels: Tensor, attentionMask: Tensor? = nil) {
    let name = inputs.dtype.isFloatingPoint ? Key.inputValues : Key.inputIds
    var t = [name: inputs, Key.labels: labels]
    t[Key.attentionMask] = attentionMask
    self.init(t, mainInputName: name)
  }

  public subscript(_ key: String) -> Tensor? {
    get { tensors[key] }
    set { tensors[key] = newValue }
  }

  /// The main input (see `mainInputName`).
  public var inputs: Tensor {
    get { Self.required(tensors[mainInputName], mainInputName, tensors) }
    set { tensors[mainInputName] = newValue }
  }

  /// The `labels` tensor (use `self["labels"]` when a batch may have none).
  public var labels: Tensor {
    get { Self.required(tensors[Key.labels], Key.labels, tensors) }
    set { tensors[Key.labels] = newValue }
  }

  public var attentionMask: Tensor? {
    get { tensors[Key.attentionMask] }
    set { tensors[Key.attentionMask] = newValue }
  }
  public var inputIds: Tensor? {
    get { tensors[Key.inputIds] }
    set { tensors[Key.inputIds] = newValue }
  }
  public var tokenTypeIds: Tensor? {
    get { tensors[Key.tokenTypeIds] }
    set { tensors[Key.tokenTypeIds] = newValue }
  }
  public var decoderInputIds: Tensor? {
    get { tensors[Key.decoderInputIds] }
    set { tensors[Key.decoderInputIds] = newValue }
  }
  public var decoderAttentionMask: Tensor? {
    get { tensors[Key.decoderAttentionMask] }
    set { tensors[Key.decoderAttentionMask] = newValue }
  }
  public var pixelValues: Tensor? {
    get { tensors[Key.pixelValues] }
    set { tensors[Key.pixelValues] = newValue }
  }
  public var timesteps: Tensor? {
    get { tensors[Key.timesteps] }
    set { tensors[Key.timesteps] = newValue }
  }

  /// Examples in the batch (the main input's first dimension).
  public var count: Int { tensors[mainInputName]?.shape.first ?? 0 }
  /// Tokens (or samples) in the batch, for throughput figures.
  public var tokenCount: Int { tensors[mainInputName]?.count ?? 0 }

  /// Moves every tensor to `device`.
  public func to(device: Device) -> Batch {
    Batch(
      tensors.mapValues { $0.device == device ? $0 : $0.to(device: device) },
      mainInputName: mainInputName)
  }

  /// torch's default collation: stacks the examples' tensors key by key along a new
  /// first dimension (every example must have the same keys and shapes).
  public static func collate(_ examples: [[String: Tensor]], mainInputName: String? = nil) throws
    -> Batch
  {
    guard let first = examples.first else { throw LoomError("collate: no examples") }
    var out: [String: Tensor] = [:]
    for key in first.keys {
      let column = try examples.enumerated().map { i, e -> Tensor in
        guard let t = e[key] else {
          throw LoomError("collate: example \(i) has no '\(key)' (example 0 has)")
        }
        guard t.shape == first[key]!.shape else {
          throw LoomError(
            "collate: '\(key)' of example \(i) has shape \(t.shape), example 0 has \(first[key]!.shape)"
          )
        }
        return t.unsqueeze(0)
      }
      out[key] = Tensor.cat(column)
    }
    return Batch(out, mainInputName: mainInputName)
  }

  static func required(_ t: Tensor?, _ key: String, _ all: [String: Tensor]) -> Tensor {
    guard let t else {
      preconditionFailure(
        "Batch has no '\(key)' (it has \(all.keys.sorted().joined(separator: ", ")))")
    }
    return t
  }
}
