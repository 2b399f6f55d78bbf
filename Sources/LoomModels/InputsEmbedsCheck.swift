import LoomCore

/// Checks HF's `inputs_embeds` before an encoder runs on them (a wrong shape would otherwise trap
/// deep inside a kernel).
enum InputsEmbedsCheck {
  static func check(_ embeds: Tensor, width: Int, maxLength: Int?, mask: Tensor?, model: String) throws {
    guard embeds.rank == 3, embeds.shape[0] > 0, embeds.shape[1] > 0, embeds.shape[2] == width else {
      throw LoomError("\(model): inputs_embeds must be [batch, sequence, \(width)] and non-empty, got shape \(embeds.shape)")
    }
    if let maxLength, embeds.shape[1] > maxLength {
      throw LoomError(
        "\(model): inputs_embeds has \(embeds.shape[1]) positions, more than max_position_embeddings (\(maxLength))")
    }
    if let mask, mask.shape != [embeds.shape[0], embeds.shape[1]] {
      throw LoomError(
        "\(model): attention_mask has shape \(mask.shape) but inputs_embeds covers \([embeds.shape[0], embeds.shape[1]]); they must match")
    }
  }
}
