import Foundation
import LoomCore
import LoomNN

/// A tanh MLP (inputs → hidden → hidden → outputs) with orthogonal weights and zero biases, the usual PPO
/// initialisation (gain √2 inside; the output layer's gain is a parameter).
public final class PolicyMLP: Module {
  @Child public var fc1: Linear
  @Child public var fc2: Linear
  @Child public var out: Linear

  public init(inputs: Int, hidden: Int, outputs: Int, outputGain: Double, generator: Generator) {
    func layer(_ i: Int, _ o: Int, _ gain: Double) -> Linear {
      Linear(
        weight: Orthogonal.matrix(rows: o, cols: i, gain: gain, generator: generator)
          .requiringGrad(),
        bias: Tensor.zeros([o]).requiringGrad())
    }
    fc1 = layer(inputs, hidden, 2.0.squareRoot())
    fc2 = layer(hidden, hidden, 2.0.squareRoot())
    out = layer(hidden, outputs, outputGain)
    super.init()
  }

  override public func forward(_ x: Tensor) -> Tensor { out(fc2(fc1(x).tanh()).tanh()) }
}

/// Separate actor (action logits, output gain 0.01 so the first policy is near uniform) and critic (one value,
/// gain 1) networks over the observation.
public final class ActorCritic: Module {
  @Child public var actor: PolicyMLP
  @Child public var critic: PolicyMLP

  public init(observationSize: Int, actionCount: Int, hidden: Int = 64, generator: Generator) {
    actor = PolicyMLP(
      inputs: observationSize, hidden: hidden, outputs: actionCount, outputGain: 0.01,
      generator: generator)
    critic = PolicyMLP(
      inputs: observationSize, hidden: hidden, outputs: 1, outputGain: 1, generator: generator)
    super.init()
  }

  /// V(s) for observations [N, observationSize] → [N].
  public func value(_ observations: Tensor) -> Tensor { critic(observations).squeeze(-1) }
}

/// `torch.nn.init.orthogonal_`'s distribution: orthonormal rows or columns from a Gaussian matrix (Gram–Schmidt,
/// which is the QR with R's diagonal made positive), times `gain`. Built on the host once per layer.
enum Orthogonal {
  static func matrix(rows: Int, cols: Int, gain: Double, generator: Generator) -> Tensor {
    let (tall, short) = (max(rows, cols), min(rows, cols))
    // `short` orthonormal vectors of length `tall`.
    var vectors: [[Double]] = []
    for _ in 0..<short {
      var v = (0..<tall).map { _ in generator.nextNormal() }
      for u in vectors {
        let dot = zip(u, v).reduce(0) { $0 + $1.0 * $1.1 }
        for k in 0..<tall { v[k] -= dot * u[k] }
      }
      let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
      vectors.append(v.map { $0 / norm })
    }
    var values = [Float](repeating: 0, count: rows * cols)
    for r in 0..<rows {
      for c in 0..<cols {
        // Orthonormal columns when the matrix is tall, rows when it is wide.
        values[r * cols + c] = Float(gain * (rows >= cols ? vectors[c][r] : vectors[r][c]))
      }
    }
    return Tensor(values, shape: [rows, cols])
  }
}
