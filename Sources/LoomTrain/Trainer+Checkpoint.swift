import Foundation
import LoomCore
import LoomIO
import LoomModels
import LoomNN
import LoomOptim

/// Output directory, checkpoints (save, rotate, resume) and saving the model.
extension Trainer {
  func defaultSaveModel(_ dir: String) throws {
    if let saveFunction { return try saveFunction(model, dir) }
    try model.savePretrained(to: dir)
  }

  /// Throws if `args.output_dir` holds files and neither overwrite_output_dir nor
  /// resume_from_checkpoint is set: the check `train()` makes first, for callers (the
  /// CLI) that want it before loading data and model.
  public static func checkOutputDirectory(_ args: TrainingArguments) throws {
    let dir = args.outputDir
    try checkCreatable(dir)
    if let contents = try? FileManager.default.contentsOfDirectory(atPath: dir), !contents.isEmpty,
      !args.overwriteOutputDir,
      args.resumeFromCheckpoint == nil
    {
      throw LoomError(
        "output directory \(dir) already exists and is not empty; pass --overwrite-output-dir to reuse it or --resume-from-checkpoint to continue"
      )
    }
  }

  /// Throws unless `dir` is a directory or can be made one (its nearest existing ancestor
  /// is a writable directory): said up front instead of a file-system error at the first save.
  static func checkCreatable(_ dir: String) throws {
    guard !dir.isEmpty else { throw LoomError("the output directory is empty: name one") }
    let fm = FileManager.default
    // Absolute first: NSString's deletingLastPathComponent traps on a one-letter relative path.
    var path = URL(fileURLWithPath: dir).standardizedFileURL.path
    var isDir: ObjCBool = false
    while !fm.fileExists(atPath: path, isDirectory: &isDir) {
      let parent = (path as NSString).deletingLastPathComponent
      if parent == path || parent.isEmpty { return }
      path = parent
    }
    guard isDir.boolValue else {
      throw LoomError("output directory \(dir) cannot be created: \(path) is a file, not a directory")
    }
    guard access(path, W_OK) == 0 else {
      throw LoomError("output directory \(dir) cannot be created: \(path) is not writable")
    }
  }

  /// Removes the `.checkpoint-N.tmp-PID` directories of runs killed while saving (their
  /// process is gone); a live process's directory is left alone.
  static func removeOrphanedTemporaryCheckpoints(in dir: String) {
    let fm = FileManager.default
    for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(".checkpoint-") {
      guard let dash = name.range(of: ".tmp-", options: .backwards),
        let pid = pid_t(name[dash.upperBound...])
      else { continue }
      let alive = pid != getpid() && (kill(pid, 0) == 0 || errno == EPERM)
      if !alive { try? fm.removeItem(atPath: dir + "/" + name) }
    }
  }

  func prepareOutputDirectory() throws {
    let fm = FileManager.default
    let dir = args.outputDir
    try Self.checkOutputDirectory(args)
    Self.removeOrphanedTemporaryCheckpoints(in: dir)
    if args.overwriteOutputDir && args.resumeFromCheckpoint == nil {
      for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? []
      where name.hasPrefix("checkpoint-") || name == logFileName {
        try fm.removeItem(atPath: dir + "/" + name)
      }
    }
    try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  /// Checkpoint directories in step order.
  public func checkpoints() -> [String] { Self.checkpoints(in: args.outputDir) }

  /// The `checkpoint-N` directories of `dir` in step order.
  public static func checkpoints(in dir: String) -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    return names.compactMap { n -> (Int, String)? in
      guard n.hasPrefix("checkpoint-"), let step = Int(n.dropFirst("checkpoint-".count)) else {
        return nil
      }
      return (step, dir + "/" + n)
    }.sorted { $0.0 < $1.0 }.map(\.1)
  }

  /// The checkpoint `resume_from_checkpoint` names ("latest": the newest in output_dir),
  /// or nil; throws if there is none. The CLI calls it before loading anything.
  public static func resumeCheckpoint(_ args: TrainingArguments) throws -> String? {
    guard let r = args.resumeFromCheckpoint else { return nil }
    if r == "true" || r == "last" || r == "latest" {
      guard let last = checkpoints(in: args.outputDir).last else {
        throw LoomError("resume_from_checkpoint: no checkpoint-N directory in \(args.outputDir)")
      }
      return last
    }
    guard FileManager.default.fileExists(atPath: r + "/trainer_state.json") else {
      throw LoomError("resume_from_checkpoint: \(r) is not a checkpoint (no trainer_state.json)")
    }
    return r
  }

  func resolveResume() throws -> String? { try Self.resumeCheckpoint(args) }

  func saveCheckpoint(optimizer: any Optimizer, scheduler: LRScheduler, metrics: [String: Double]?)
    throws
  {
    let fm = FileManager.default
    let name = "checkpoint-\(state.globalStep)"
    let final = args.outputDir + "/" + name
    // Non-finite weights would replace (and rotate away) the good checkpoints.
    if args.stopOnNaN, let bad = firstNonFiniteParameter() {
      throw nonFiniteStop(step: state.globalStep, what: "weight \(bad) is not finite, so \(name) was not written")
    }
    // A NaN metric is never the best.
    if let metrics, let value = metrics[args.bestMetric.name], !value.isNaN {
      let better =
        state.bestMetric.map { args.bestMetric.greaterIsBetter ? value > $0 : value < $0 } ?? true
      if better {
        state.bestMetric = value
        state.bestModelCheckpoint = final
      }
    }
    // Write everything into a temporary directory, then rename: a crash mid-write
    // leaves earlier checkpoints untouched and no half-written checkpoint-N.
    let tmp = args.outputDir + "/.\(name).tmp-\(getpid())"
    try? fm.removeItem(atPath: tmp)
    try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    try saveModel(tmp)
    try SafeTensors.save(optimizer.stateDict(), to: tmp + "/optimizer.safetensors")
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try AtomicFile.write(
      try encoder.encode(["step_count": scheduler.stepCount]), to: tmp + "/scheduler.json")
    try AtomicFile.write(
      try encoder.encode(["global_generator": Generator.global.state]), to: tmp + "/rng_state.json")
    try AtomicFile.write(try encoder.encode(state), to: tmp + "/trainer_state.json")
    try AtomicFile.write(try encoder.encode(args), to: tmp + "/training_args.json")
    if fm.fileExists(atPath: final) { try fm.removeItem(atPath: final) }
    try fm.moveItem(atPath: tmp, toPath: final)
    try rotateCheckpoints()
  }

  /// Keeps the newest `save_total_limit` checkpoints, never deleting the best one.
  func rotateCheckpoints() throws {
    guard var limit = args.saveTotalLimit else { return }
    var all = checkpoints()
    if let best = state.bestModelCheckpoint, let i = all.firstIndex(of: best) {
      if limit == 1 && best != all.last { limit = 2 }
      all.remove(at: i)
      all.append(best)
    }
    for dir in all.prefix(max(0, all.count - limit)) {
      try FileManager.default.removeItem(atPath: dir)
    }
  }

  /// A checkpoint's trainer_state.json, its counters checked (they index the data loader).
  public static func readTrainerState(_ path: String) throws -> TrainerState {
    let state = try JSONInput.decode(TrainerState.self, at: path)
    for (key, value) in [
      ("global_step", state.globalStep), ("loom_epoch_index", state.epochIndex),
      ("loom_batches_in_epoch", state.batchesInEpoch), ("max_steps", state.maxSteps),
    ] where value < 0 {
      throw LoomError("\(path): field '\(key)' must be >= 0, got \(value)")
    }
    return state
  }

  /// Restores model, optimizer, schedule, RNG and the trainer state (with its
  /// log_history, as HF does); the JSON-lines log is cut back to that history so the
  /// steps after the checkpoint are not logged twice.
  func restore(from dir: String, optimizer: any Optimizer, scheduler: LRScheduler) throws {
    // Optimizer states do not carry over between kinds (Adam moments vs SGD momentum).
    if let data = FileManager.default.contents(atPath: dir + "/training_args.json"),
      let saved = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    {
      let optim = saved["optim"] as? String ?? "adamw_torch"
      if (try? OptimizerNames(parsing: optim))?.canonical != args.optim.canonical {
        throw LoomError(
          "resume_from_checkpoint: \(dir) was written with optim '\(optim)', this run uses '\(args.optim.rawValue)'"
        )
      }
    }
    let weights = try SafeTensors.load(dir + "/model.safetensors")
    try model.loadStateDict(weights, source: dir + "/model.safetensors")
    try optimizer.loadStateDict(SafeTensors.load(dir + "/optimizer.safetensors"))
    state = try Self.readTrainerState(dir + "/trainer_state.json")
    let sched = try JSONInput.decode([String: Int].self, at: dir + "/scheduler.json")
    let stepCount = sched["step_count"] ?? state.globalStep
    guard stepCount >= 0 else {
      throw LoomError("\(dir)/scheduler.json: field 'step_count' must be >= 0, got \(stepCount)")
    }
    scheduler.restore(stepCount: stepCount)
    let rng = try JSONInput.decode([String: [UInt64]].self, at: dir + "/rng_state.json")
    if let g = rng["global_generator"] {
      guard g.count == 2 else {
        throw LoomError(
          "\(dir)/rng_state.json: global_generator has \(g.count) words, expected [seed, offset] "
            + "(a checkpoint from an older Loom; resume it with that version or start a new run)")
      }
      Generator.global.state = g
    }
    state.maxSteps = totalSteps
    guard isWorldProcessZero() else { return }
    try rewriteLogFile()
    FileHandle.standardError.write(
      "resuming from \(dir) at step \(state.globalStep)\n".data(using: .utf8)!)
  }
}
