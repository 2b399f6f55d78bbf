import Foundation
import LoomNN

/// The generation_config.json a model was loaded with. transformers keeps it as
/// `model.generation_config` and `save_pretrained` writes it back, so a fine-tuned model keeps
/// its source's generation settings (beams, lengths, forced ids) instead of a file re-derived
/// from config.json. Remembered per model instance; a model built from a config has none.
enum LoadedGenerationConfig {
  private final class Entry {
    weak var model: Module?
    let object: [String: Any]
    init(model: Module, object: [String: Any]) {
      self.model = model
      self.object = object
    }
  }

  private static let lock = NSLock()
  nonisolated(unsafe) private static var entries: [ObjectIdentifier: Entry] = [:]

  /// Remembers `directory`'s generation_config.json for `model`. A missing or unreadable file
  /// is skipped, as transformers falls back to deriving one from config.json.
  static func record(from directory: String, for model: Module) {
    let path = directory + "/" + GenerationConfigWriter.fileName
    guard let data = FileManager.default.contents(atPath: path),
      let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    else { return }
    lock.lock()
    defer { lock.unlock() }
    entries = entries.filter { $0.value.model != nil }
    entries[ObjectIdentifier(model)] = Entry(model: model, object: object)
  }

  /// The file's fields for `model`, when it was loaded with one.
  static func object(for model: Module) -> [String: Any]? {
    lock.lock()
    defer { lock.unlock() }
    guard let entry = entries[ObjectIdentifier(model)], entry.model === model else { return nil }
    return entry.object
  }
}
