import Foundation
import LoomCore

/// A JSON number as Double (JSONSerialization gives NSNumber; Swift literals give Int or Double).
func jsonDouble(_ v: Any) -> Double? {
  if let d = v as? Double { return d }
  if let i = v as? Int { return Double(i) }
  if let n = v as? NSNumber { return n.doubleValue }
  return nil
}

/// Reading and writing diffusers' scheduler_config.json: `_class_name` names the scheduler,
/// unknown keys are ignored (as diffusers does), bad values are errors that name the key.
extension SchedulerConfig {
  public static let fileName = "scheduler_config.json"
  /// The diffusers version Loom's files claim to match (the one the parity fixtures came from).
  public static let diffusersVersion = "0.42.1"

  /// Reads `path` (a scheduler_config.json or a folder holding one); returns `_class_name` too.
  public static func load(_ path: String) throws -> (className: String?, config: SchedulerConfig) {
    var isDir: ObjCBool = false
    let file =
      FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
      ? (path as NSString).appendingPathComponent(fileName) : path
    guard let data = FileManager.default.contents(atPath: file) else {
      throw LoomError("no scheduler config at \(file); a diffusers scheduler folder holds \(fileName)")
    }
    guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw LoomError("\(file) is not a JSON object")
    }
    do {
      return (json["_class_name"] as? String, try SchedulerConfig(json: json))
    } catch let e as LoomError {
      throw LoomError("\(file): \(e.message)")
    }
  }

  public init(json: [String: Any]) throws {
    self.init()
    func number(_ key: String) throws -> Double? {
      guard let v = json[key], !(v is NSNull) else { return nil }
      guard let n = jsonDouble(v) else { throw LoomError("\(key) must be a number, got \(v)") }
      return n
    }
    func int(_ key: String) throws -> Int? {
      guard let d = try number(key) else { return nil }
      guard d == d.rounded(), abs(d) < 1e15 else { throw LoomError("\(key) must be an integer, got \(d)") }
      return Int(d)
    }
    func bool(_ key: String) throws -> Bool? {
      guard let v = json[key], !(v is NSNull) else { return nil }
      guard let b = v as? Bool else { throw LoomError("\(key) must be true or false, got \(v)") }
      return b
    }
    func choice<E: RawRepresentable & CaseIterable>(_ key: String, _: E.Type) throws -> E? where E.RawValue == String {
      guard let v = json[key], !(v is NSNull) else { return nil }
      guard let s = v as? String, let e = E(rawValue: s) else {
        throw LoomError("\(key) must be one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), got \(v)")
      }
      return e
    }
    if let v = try int("num_train_timesteps") { numTrainTimesteps = v }
    if let v = try number("beta_start") { betaStart = v }
    if let v = try number("beta_end") { betaEnd = v }
    if let v = try choice("beta_schedule", BetaSchedule.self) { betaSchedule = v }
    if let v = json["trained_betas"], !(v is NSNull) {
      guard let a = v as? [Any], case let d = a.compactMap(jsonDouble), d.count == a.count else {
        throw LoomError("trained_betas must be a list of numbers or null")
      }
      trainedBetas = d
    }
    if let v = try choice("prediction_type", PredictionType.self) { predictionType = v }
    if let v = try bool("clip_sample") { clipSample = v }
    if let v = try number("clip_sample_range") { clipSampleRange = v }
    if let v = try bool("thresholding") { thresholding = v }
    if let v = try number("dynamic_thresholding_ratio") { dynamicThresholdingRatio = v }
    if let v = try number("sample_max_value") { sampleMaxValue = v }
    if let v = try choice("timestep_spacing", TimestepSpacing.self) { timestepSpacing = v }
    if let v = try int("steps_offset") { stepsOffset = v }
    if let v = try bool("rescale_betas_zero_snr") { rescaleBetasZeroSnr = v }
    if let v = try choice("variance_type", VarianceType.self) { varianceType = v }
    if let v = try bool("set_alpha_to_one") { setAlphaToOne = v }
    try validate()
  }

  /// The keys diffusers' scheduler `className` writes (DDPM has variance_type, DDIM set_alpha_to_one).
  public func json(className: String) -> [String: Any] {
    var j: [String: Any] = [
      "_class_name": className, "_diffusers_version": Self.diffusersVersion,
      "num_train_timesteps": numTrainTimesteps, "beta_start": betaStart, "beta_end": betaEnd,
      "beta_schedule": betaSchedule.rawValue, "trained_betas": trainedBetas.map { $0 as Any } ?? NSNull(),
      "prediction_type": predictionType.rawValue, "clip_sample": clipSample, "clip_sample_range": clipSampleRange,
      "thresholding": thresholding, "dynamic_thresholding_ratio": dynamicThresholdingRatio,
      "sample_max_value": sampleMaxValue, "timestep_spacing": timestepSpacing.rawValue,
      "steps_offset": stepsOffset, "rescale_betas_zero_snr": rescaleBetasZeroSnr,
    ]
    if className == DDPMScheduler.className { j["variance_type"] = varianceType.rawValue }
    if className == DDIMScheduler.className { j["set_alpha_to_one"] = setAlphaToOne }
    return j
  }

  /// Writes `directory`/scheduler_config.json (creating the folder).
  public func save(to directory: String, className: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let data = try JSONSerialization.data(
      withJSONObject: json(className: className), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    try data.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(Self.fileName)))
  }
}
