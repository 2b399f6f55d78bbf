import Foundation
import LoomCore

/// A table like torchsummary's: one row per module call in execution order (output
/// shape, parameters), totals, and a memory estimate. Built by one forward pass under
/// `noGrad`, in evaluation mode (so BatchNorm's running statistics are not touched),
/// with a forward hook on every module but the model itself and `Sequential`s.
public struct ModelSummary: CustomStringConvertible {
  public struct Row: Equatable, Sendable {
    /// torchsummary's key: type and call number, e.g. "Linear-1".
    public let name: String
    /// The module's type name, e.g. "Linear".
    public let type: String
    /// Dotted path in the model, e.g. "encoder.0".
    public let path: String
    /// Shape of the module's output, batch dimension replaced by the summary's batch size.
    public let outputShape: [Int]
    /// Elements of the module's own parameters (not its submodules').
    public let parameters: Int
    /// The part of `parameters` that requires grad.
    public let trainableParameters: Int
  }

  public let rows: [Row]
  /// The input's shape without the batch dimension.
  public let inputShape: [Int]
  /// Shown in place of the batch dimension; -1 (any) by default, as in torchsummary.
  public let batchSize: Int
  /// Every distinct parameter of the model (tied tensors count once).
  public let totalParameters: Int
  public let trainableParameters: Int
  public var nonTrainableParameters: Int { totalParameters - trainableParameters }

  /// Runs `forward(input)` (the input has a batch dimension) and records each module
  /// call. Use this for models with several inputs or integer ids, e.g.
  /// `ModelSummary(model: gpt, input: ids) { gpt($0) }`.
  public init(model: Module, input: Tensor, batchSize: Int = -1, forward: (Tensor) -> Tensor) {
    var rows: [Row] = []
    var handles: [HookHandle] = []
    var seen = Set<ObjectIdentifier>()
    for (path, module) in model.namedModules() where !path.isEmpty && !(module is Sequential) {
      // A module reachable under two names (shared) is hooked once, under its first name.
      guard seen.insert(ObjectIdentifier(module)).inserted else { continue }
      handles.append(
        module.registerForwardHook { m, _, output in
          let own = m.directParameters()
          let type = String(describing: Swift.type(of: m))
          var shape = output.shape
          if !shape.isEmpty { shape[0] = batchSize }
          rows.append(
            Row(
              name: "\(type)-\(rows.count + 1)", type: type, path: path, outputShape: shape,
              parameters: own.reduce(0) { $0 + $1.count },
              trainableParameters: own.filter(\.requiresGrad).reduce(0) { $0 + $1.count }))
        })
    }
    defer { for h in handles { h.remove() } }
    _ = model.inEvalMode { noGrad { forward(input) } }

    let parameters = model.parameters()
    self.rows = rows
    self.inputShape = Array(input.shape.dropFirst())
    self.batchSize = batchSize
    totalParameters = parameters.reduce(0) { $0 + $1.count }
    trainableParameters = parameters.filter(\.requiresGrad).reduce(0) { $0 + $1.count }
  }

  /// Summarises `model` on a uniform random float32 input of shape [2] + `inputShape`
  /// (two rows, as torchsummary uses). Throws when the shape is empty or not positive.
  public init(model: Module, inputShape: [Int], batchSize: Int = -1) throws {
    guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
      throw LoomError(
        "summary: input shape must be non-empty with positive sizes (batch excluded), got \(inputShape)"
      )
    }
    // A private generator keeps the global random stream untouched.
    let x = Tensor.rand([2] + inputShape, generator: Generator(seed: 0))
    self.init(model: model, input: x, batchSize: batchSize) { model($0) }
  }

  // Memory estimate, with torchsummary's formulas: 4 bytes per number, outputs counted
  // twice (forward values and their gradients), a batch of -1 counts as one sample.
  static let bytesPerNumber = 4.0
  static let mebibyte = 1024.0 * 1024.0

  public var inputSizeMB: Double {
    // In Double: a display batch size may be any Int, and the product must not trap.
    abs(inputShape.reduce(Double(batchSize)) { $0 * Double($1) } * Self.bytesPerNumber / Self.mebibyte)
  }

  public var forwardBackwardSizeMB: Double {
    let outputs = rows.reduce(0.0) { $0 + $1.outputShape.reduce(1.0) { $0 * Double($1) } }
    return abs(2 * outputs * Self.bytesPerNumber / Self.mebibyte)
  }

  public var parametersSizeMB: Double {
    abs(Double(totalParameters) * Self.bytesPerNumber / Self.mebibyte)
  }

  public var totalSizeMB: Double { parametersSizeMB + forwardBackwardSizeMB + inputSizeMB }

  /// The table in torchsummary's layout, line for line.
  public func render() -> String {
    let thin = String(repeating: "-", count: 64)
    let thick = String(repeating: "=", count: 64)
    func pad(_ s: String, _ width: Int) -> String {
      String(repeating: " ", count: max(0, width - s.count)) + s
    }
    func line(_ a: String, _ b: String, _ c: String) -> String {
      pad(a, 20) + "  " + pad(b, 25) + " " + pad(c, 15)
    }
    func mb(_ x: Double) -> String { String(format: "%0.2f", x) }
    var out = [thin, line("Layer (type)", "Output Shape", "Param #"), thick]
    for row in rows {
      out.append(line(row.name, "\(row.outputShape)", Self.grouped(row.parameters)))
    }
    out += [
      thick,
      "Total params: \(Self.grouped(totalParameters))",
      "Trainable params: \(Self.grouped(trainableParameters))",
      "Non-trainable params: \(Self.grouped(nonTrainableParameters))",
      thin,
      "Input size (MB): \(mb(inputSizeMB))",
      "Forward/backward pass size (MB): \(mb(forwardBackwardSizeMB))",
      "Params size (MB): \(mb(parametersSizeMB))",
      "Estimated Total Size (MB): \(mb(totalSizeMB))",
      thin,
    ]
    return out.joined(separator: "\n") + "\n"
  }

  public var description: String { render() }

  /// 1234567 → "1,234,567" (Python's "{:,}").
  static func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
      if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
      out.append(ch)
    }
    return n < 0 ? "-" + out : out
  }
}

/// `ModelSummary(model:inputShape:batchSize:)` under torchsummary's name.
public func summary(_ model: Module, inputShape: [Int], batchSize: Int = -1) throws
  -> ModelSummary
{
  try ModelSummary(model: model, inputShape: inputShape, batchSize: batchSize)
}
