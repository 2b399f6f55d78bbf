import LoomCore

extension Module {
  /// Parameter identity → dotted name, for labelling graphs (tied tensors keep their first name).
  public func parameterNames() -> [ObjectIdentifier: String] {
    var names: [ObjectIdentifier: String] = [:]
    for (name, p) in namedParameters() { names[ObjectIdentifier(p)] = name }
    return names
  }

  /// The autograd graph of `output` (computed by this module, with grad recording on)
  /// as Graphviz DOT with this module's parameter names, like torchviz's
  /// `make_dot(y, params=dict(model.named_parameters()))`. Call before `backward`.
  public func graphDOT(output: Tensor) -> String {
    GraphDOT.make(output, parameterNames: parameterNames())
  }
}
