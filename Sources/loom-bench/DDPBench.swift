import Foundation
import LoomCore
import LoomDistributed
import LoomModels
import LoomNN
import LoomOptim

/// `loom-bench ddp [--quick]`: data-parallel step time of the seeds' GPT (forward, backward
/// with DDP's bucketed all-reduce, AdamW) on 2 ranks × 1 thread against 1 rank × 1 thread on
/// the same per-rank batch (ideal: equal times, twice the tokens), and the share of the step
/// spent waiting for all-reduces that backward did not hide. Starts itself under mpirun.
func runDDPBench(_ args: [String]) throws {
  let quick = args.contains("--quick")
  if args.contains("--worker") { return try ddpBenchWorker(steps: quick ? 3 : 8) }
  guard let mpirun = LaunchPaths.find("mpirun") else { throw LoomError("loom-bench ddp needs mpirun (apt install openmpi-bin)") }
  let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
  for ranks in [1, 2] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: mpirun)
    p.arguments =
      ["-np", String(ranks), "--bind-to", "core"] + (getuid() == 0 ? ["--allow-run-as-root"] : [])
      + (ranks > ProcessInfo.processInfo.activeProcessorCount ? ["--oversubscribe"] : [])
      + ["-x", "LOOM_NUM_THREADS=1", me, "ddp", "--worker"] + (quick ? ["--quick"] : [])
    try p.run()  // the worker's rank 0 prints the figures
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw LoomError("mpirun -np \(ranks) exited with \(p.terminationStatus)") }
  }
}

func ddpBenchWorker(steps: Int) throws {
  let group = try ProcessGroup.fromEnvironment()
  defer { group.finalize() }
  let (batch, block) = (2, 128)
  manualSeed(0)
  let config = GPT2Config.seed(vocabSize: 65)
  let model = try GPT2LMHeadModel(config)
  model.train()
  let ddp = try DistributedDataParallel(model, group: group)
  let opt = AdamW(decayGroups(model, lr: 3e-4, weightDecay: 0.1))
  let ids = Tensor.randint(0, config.vocabSize, [batch, block], generator: Generator(seed: UInt64(1 + group.rank)))
  func step() throws {
    model.loss(ids, labels: ids).loss.backward()
    try ddp.finishGradientSynchronization()
    clipGradNorm(model.parameters(), maxNorm: 1)
    opt.step()
    opt.zeroGrad()
  }
  try step()
  let waitBefore = ddp.waitSeconds
  var samples: [Double] = []
  for _ in 0..<steps {
    try group.barrier()  // every rank starts the step together
    let t0 = now()
    try step()
    samples.append(now() - t0)
  }
  let share = (ddp.waitSeconds - waitBefore) / samples.reduce(0, +)
  guard group.rank == 0 else { return }
  emit(
    suite: "ddp", bench: "step", config: "seed gpt, \(group.worldSize) rank\(group.worldSize > 1 ? "s" : "") x 1 thread, batch \(batch)x\(block) per rank",
    value: median(samples) * 1000, unit: "ms",
    extra: [
      "ranks": group.worldSize, "allreduce_wait_share": share, "buckets": ddp.bucketCount,
      "parameters": model.parameterCount(), "tokens_per_second": Double(group.worldSize * batch * block) / median(samples),
    ])
}

enum LaunchPaths {
  static func find(_ name: String) -> String? {
    (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/\(name)" }
      .first { FileManager.default.isExecutableFile(atPath: $0) }
  }
}
