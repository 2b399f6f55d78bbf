import FuzzSupport
import LoomCore
import LoomIO
import LoomOptim
import LoomTrain

/// The files a resume reads besides the model: the first byte picks trainer_state.json,
/// scheduler.json / rng_state.json, or optimizer.safetensors (into Adam, SGD and Adafactor).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  guard size > 0 else { return 0 }
  let rest = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
  do {
    switch data[0] % 3 {
    case 0: _ = try Trainer.readTrainerState(Scratch.write("trainer_state.json", rest))
    case 1:
      let path = Scratch.write("rng_state.json", rest)
      _ = try JSONInput.decode([String: [UInt64]].self, at: path)
      _ = try JSONInput.decode([String: Int].self, at: path)
    default:
      let state = try SafeTensors.load(Scratch.write("optimizer.safetensors", rest))
      let params = [Tensor.zeros([4, 3]), Tensor.zeros([3])]
      for p in params { p.requiresGrad = true }
      for optimizer in [AdamW(params), SGD(params, lr: 0.1, momentum: 0.9), Adafactor(params)] as [any Optimizer] {
        do { try optimizer.loadStateDict(state) } catch { Scratch.check(error) }
      }
    }
  } catch { Scratch.check(error) }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
