import Dispatch
import Foundation

/// Runs a validator under a time limit. A validator cannot be cancelled: past the limit its thread runs on, unseen,
/// and the check counts as failed, so a slow validator costs time but never lets a text through.
enum TimedValidation {
  enum Outcome {
    case findings([Finding])
    case threw(String)
    case timedOut(Double)
  }

  final class Box: @unchecked Sendable {
    let lock = NSLock()
    var outcome: Outcome?
  }

  static func run(_ validator: any Validator, _ text: String, timeout: Double?) -> Outcome {
    guard let timeout else { return direct(validator, text) }
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
      let o = direct(validator, text)
      box.lock.lock()
      box.outcome = o
      box.lock.unlock()
      done.signal()
    }
    if done.wait(timeout: .now() + timeout) == .timedOut { return .timedOut(timeout) }
    box.lock.lock()
    defer { box.lock.unlock() }
    return box.outcome!
  }

  static func direct(_ validator: any Validator, _ text: String) -> Outcome {
    do { return .findings(try validator.validate(text)) } catch { return .threw("\(error)") }
  }
}
