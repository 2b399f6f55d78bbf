import LoomCore
import LoomOptim

/// DeepSpeed's ZeRO stage 1 (torch's `ZeroRedundancyOptimizer`): the parameters are split
/// over the ranks (largest first, each to the least-loaded rank), each rank keeps and steps
/// the Adam/AdamW moments of its own share only (1/N of the optimizer memory), then every
/// parameter is broadcast from the rank that stepped it. The gradients are already averaged
/// (DDP), and Adam's update is element-wise, so training equals plain data parallelism.
/// Checkpoints hold the whole state: `consolidate()` (on every rank) gathers it before
/// rank 0 saves, and `loadStateDict` keeps this rank's share of a whole state, so a run can
/// resume with any number of ranks, with or without ZeRO.
public final class ZeroRedundancyOptimizer: Optimizer {
  /// The whole parameter groups (the schedule sets their learning rates).
  public var paramGroups: [ParamGroup]
  public let group: ProcessGroup
  /// The optimizer over this rank's parameters.
  public let local: Adam
  /// The rank that steps each parameter (in `allParameters` order).
  public let owners: [Int]
  var localIndex: [Int: Int] = [:]
  var consolidated: [String: Tensor]? = nil

  public init(_ optimizer: any Optimizer, group: ProcessGroup) throws {
    guard let adam = optimizer as? Adam else {
      throw LoomError("--zero-stage 1 shards Adam/AdamW moments: use optim adamw_torch or adam, not \(type(of: optimizer))")
    }
    self.group = group
    paramGroups = optimizer.paramGroups
    let params = optimizer.allParameters
    var load = Array(repeating: 0, count: group.worldSize)
    var owners = Array(repeating: 0, count: params.count)
    for i in params.indices.sorted(by: { params[$0].count > params[$1].count || (params[$0].count == params[$1].count && $0 < $1) }) {
      let r = load.indices.min { load[$0] < load[$1] }!
      owners[i] = r
      load[r] += params[i].count
    }
    self.owners = owners
    var groups: [ParamGroup] = []
    var indices: [Int: Int] = [:]
    var i = 0
    for g in optimizer.paramGroups {
      var mine: [Tensor] = []
      for p in g.params {
        if owners[i] == group.rank {
          indices[i] = indices.count
          mine.append(p)
        }
        i += 1
      }
      groups.append(ParamGroup(params: mine, lr: g.lr, weightDecay: g.weightDecay))
    }
    localIndex = indices
    self.local = Adam(
      groups, betas: (adam.beta1, adam.beta2), eps: adam.eps, decoupledWeightDecay: adam.decoupledWeightDecay)
  }

  public func step() {
    for k in paramGroups.indices { local.paramGroups[k].lr = paramGroups[k].lr }
    local.step()
    consolidated = nil
    do {
      for (i, p) in allParameters.enumerated() { try group.broadcast(p, from: owners[i]) }
    } catch {
      group.abort("ZeRO-1: \(error)")
    }
  }

  /// Every rank: gathers the whole state so `stateDict()` returns it (rank 0 then saves it).
  public func consolidate() throws {
    let mine = local.stateDict()
    var whole: [String: Tensor] = [:]
    for (i, p) in allParameters.enumerated() {
      let owner = owners[i]
      let key = localIndex[i].map(String.init)
      let has = try group.broadcast(bytes: [key.flatMap { mine["\($0).exp_avg"] } != nil ? 1 : 0], from: owner, what: "ZeRO-1 state")
      guard has.first == 1 else { continue }
      for name in ["exp_avg", "exp_avg_sq"] {
        let t = key.flatMap { mine["\($0).\(name)"] }?.contiguousCopy() ?? Tensor.zeros(like: p)
        try group.broadcast(t, from: owner)
        whole["\(i).\(name)"] = t
      }
      let step = Tensor([Float(key.flatMap { mine["\($0).step"] }?.item() ?? 0)])
      try group.broadcast(step, from: owner)
      whole["\(i).step"] = Tensor(scalar: Int64(step.item()))
    }
    consolidated = whole
  }

  /// The whole state after `consolidate()`; before it, this rank's share (global indices).
  public func stateDict() -> [String: Tensor] {
    if let consolidated { return consolidated }
    let mine = local.stateDict()
    var out: [String: Tensor] = [:]
    for (i, l) in localIndex {
      for name in ["exp_avg", "exp_avg_sq", "step"] { if let t = mine["\(l).\(name)"] { out["\(i).\(name)"] = t } }
    }
    return out
  }

  /// Keeps this rank's share of a whole state (a checkpoint written with any number of ranks).
  public func loadStateDict(_ state: [String: Tensor]) throws {
    var mine: [String: Tensor] = [:]
    for (i, l) in localIndex {
      for name in ["exp_avg", "exp_avg_sq", "step"] { if let t = state["\(i).\(name)"] { mine["\(l).\(name)"] = t } }
    }
    try local.loadStateDict(mine)
    consolidated = nil
  }
}
