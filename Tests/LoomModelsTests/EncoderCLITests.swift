import Foundation
import LoomCore
import LoomDatasets
import LoomTokenizers
import LoomTrain
import LoomTestSupport
import XCTest

/// `loom fill-mask`, `embed`, `classify`, `train mlm` and `train classify` end to end on the
/// fixtures of scripts/fixtures/make_encoder_cli_fixtures.py, and their bad-input errors.
final class EncoderCLITests: XCTestCase {
  static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path + "/encoder-cli"
  static let roberta = fixtures + "/roberta-tiny"
  var dir: String!

  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-encoder-cli-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  static func dot(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    for (x, y) in zip(a, b) { s += x * y }
    return s
  }

  func jsonLines(_ s: String) -> [Any] {
    s.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
  }

  /// Training losses logged to metrics.jsonl.
  func losses(_ out: String) throws -> [Double] {
    try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
      .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
      .compactMap { $0["loss"] as? Double }
  }

  func testFillMaskMatchesHuggingFacePipeline() throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/fill-mask.json"))
    let cases = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    for c in cases {
      let text = c["text"] as! String
      // HF returns one list for a single mask and a list per mask otherwise.
      let raw = c["candidates"] as! [Any]
      let expected = (raw.first is [Any] ? raw.flatMap { $0 as! [Any] } : raw) as! [[String: Any]]
      let r = try loom(["fill-mask", "--model", Self.roberta, "--text", text, "--top-k", "5"])
      XCTAssertEqual(r.status, 0, r.err)
      let got = jsonLines(r.out) as! [[String: Any]]
      XCTAssertEqual(got.count, expected.count, text)
      for (g, e) in zip(got, expected) {
        XCTAssertEqual(g["token"] as? Int, e["token"] as? Int, text)
        XCTAssertEqual(g["token_str"] as? String, e["token_str"] as? String, text)
        XCTAssertEqual(g["sequence"] as? String, e["sequence"] as? String, text)
        XCTAssertEqual(g["score"] as! Double, e["score"] as! Double, accuracy: 1e-5, text)
      }
    }
  }

  /// `--torch-dtype bfloat16 / float16` on fill-mask and embed: the same candidates' scores as float32 up to
  /// half rounding (scores from float32 logits), MiniLM's vectors at cosine ≥ 0.999, bad values refused.
  func testHalfDTypeOnEncoderCommands() throws {
    let args = ["fill-mask", "--model", Self.roberta, "--text", "the <mask> sat", "--top-k", "3"]
    let full = jsonLines(try loom(args).out) as! [[String: Any]]
    XCTAssertEqual(full.count, 3)
    for dtype in ["bfloat16", "float16"] {
      let r = try loom(args + ["--torch-dtype", dtype])
      XCTAssertEqual(r.status, 0, r.err)
      let half = jsonLines(r.out) as! [[String: Any]]
      XCTAssertEqual(half.count, 3, dtype)
      let scores = Dictionary(uniqueKeysWithValues: full.map { ($0["token"] as! Int, $0["score"] as! Double) })
      let top = try XCTUnwrap(half.first)
      XCTAssertEqual(
        top["score"] as! Double, scores[top["token"] as! Int] ?? full[0]["score"] as! Double, accuracy: 0.02, dtype)
    }
    let bad = try loom(args + ["--torch-dtype", "int8"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.err.contains("--torch-dtype: torch_dtype 'int8' is not one of auto"), bad.err)
    let minilm = NSHomeDirectory() + "/.cache/loom/minilm"
    guard FileManager.default.fileExists(atPath: minilm + "/model.safetensors") else { return }
    let sentences = ["A man is playing a guitar.", "The weather is lovely today."]
    let reference = jsonLines(try loom(["embed", "--model", minilm, "--normalize", "--text"] + sentences).out)
    let r = try loom(["embed", "--model", minilm, "--normalize", "--torch-dtype", "bfloat16", "--text"] + sentences)
    XCTAssertEqual(r.status, 0, r.err)
    for (g, e) in zip(jsonLines(r.out) as! [[Double]], reference as! [[Double]]) {
      XCTAssertGreaterThanOrEqual(Self.dot(g, e) / (Self.dot(g, g) * Self.dot(e, e)).squareRoot(), 0.999)
    }
  }

  func testEmbedMatchesSentenceTransformers() throws {
    let minilm = NSHomeDirectory() + "/.cache/loom/minilm"
    guard FileManager.default.fileExists(atPath: minilm + "/model.safetensors") else {
      throw XCTSkip("MiniLM not in \(minilm): run scripts/fetch-assets.sh")
    }
    let data = try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/minilm-embed.json"))
    let fixture = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    let sentences = fixture["sentences"] as! [String]
    let expected = fixture["embeddings"] as! [[Double]]
    let r = try loom(["embed", "--model", minilm, "--normalize", "--text"] + sentences)
    XCTAssertEqual(r.status, 0, r.err)
    let got = jsonLines(r.out) as! [[Double]]
    XCTAssertEqual(got.count, sentences.count)
    for (g, e) in zip(got, expected) {
      XCTAssertEqual(g.count, 384)
      let cosine = Self.dot(g, e) / (Self.dot(g, g).squareRoot() * Self.dot(e, e).squareRoot())
      XCTAssertGreaterThanOrEqual(cosine, 0.99999)
      XCTAssertLessThanOrEqual(zip(g, e).map { abs($0 - $1) }.max()!, 1e-5)
    }
    // --file gives the same vectors, one line per non-empty input line.
    let file = dir + "/sentences.txt"
    try (sentences.joined(separator: "\n\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
    let f = try loom(["embed", "--model", minilm, "--normalize", "--file", file])
    XCTAssertEqual(f.status, 0, f.err)
    XCTAssertEqual(f.out, r.out)
  }

  func testTrainMLMThenFillMask() throws {
    let out = dir + "/mlm"
    let r = try loom([
      "train", "mlm", "--data", Self.fixtures + "/mlm.txt", "--tokenizer", Self.roberta, "--preset", "tiny",
      "--max-seq-length", "32", "--max-steps", "40", "--learning-rate", "2e-3", "--batch-size", "8",
      "--logging-steps", "10", "--validation-split", "0", "--save-strategy", "no", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    let l = try losses(out)
    XCTAssertGreaterThanOrEqual(l.count, 4)
    XCTAssertLessThan(l.last!, l.first! * 0.8, "MLM loss should fall: \(l)")
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
    }
    let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
    XCTAssertEqual(config["model_type"] as? String, "roberta")
    XCTAssertEqual(config["architectures"] as? [String], ["RobertaForMaskedLM"])
    let fill = try loom(["fill-mask", "--model", out, "--text", "the movie was <mask>", "--top-k", "3"])
    XCTAssertEqual(fill.status, 0, fill.err)
    let candidates = jsonLines(fill.out) as! [[String: Any]]
    XCTAssertEqual(candidates.count, 3)
    let scores = candidates.map { $0["score"] as! Double }
    XCTAssertEqual(scores, scores.sorted(by: >), "best first")
  }

  /// The counts in `train mlm`'s "data: N lines → T training and E evaluation examples" line.
  func exampleCounts(_ out: String) -> (training: Int, evaluation: Int)? {
    guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }),
      let arrow = line.range(of: "→ ")
    else { return nil }
    let words = line[arrow.upperBound...].split(separator: " ")
    guard words.count >= 4, let t = Int(words[0]), let e = Int(words[3]) else { return nil }
    return (t, e)
  }

  /// run_mlm.py's validation_file: evaluation on held-out text files instead of a split of --data.
  func testTrainMLMEvaluatesOnValidationData() throws {
    let out = dir + "/mlm-val"
    let heldOut = dir + "/held-out.txt"
    let lines = try String(contentsOfFile: Self.fixtures + "/mlm.txt", encoding: .utf8).split(separator: "\n")
    try lines.suffix(12).joined(separator: "\n").write(toFile: heldOut, atomically: true, encoding: .utf8)
    let r = try loom([
      "train", "mlm", "--data", Self.fixtures + "/mlm.txt", "--validation-data", heldOut, "--tokenizer", Self.roberta,
      "--preset", "tiny", "--max-seq-length", "16", "--max-steps", "20", "--batch-size", "8", "--logging-steps", "10",
      "--eval-strategy", "steps", "--eval-steps", "10", "--save-strategy", "no", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    // All of --data trains (no split); the held-out file alone is evaluated.
    let counts = try XCTUnwrap(exampleCounts(r.out), r.out)
    let nEval = counts.evaluation
    XCTAssertGreaterThan(nEval, 0)
    let evalRecords = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
      .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
      .filter { $0["eval_loss"] != nil }
    XCTAssertEqual(evalRecords.map { $0["step"] as? Int }, [10, 20])
    XCTAssertTrue(evalRecords.allSatisfy { ($0["eval_loss"] as! Double).isFinite })
    let split = try loom([
      "train", "mlm", "--data", Self.fixtures + "/mlm.txt", "--tokenizer", Self.roberta, "--preset", "tiny",
      "--max-seq-length", "16", "--max-steps", "1", "--validation-split", "0.5", "--save-strategy", "no",
      "--output-dir", dir + "/mlm-split",
    ])
    XCTAssertEqual(split.status, 0, split.err)
    let splitCounts = try XCTUnwrap(exampleCounts(split.out), split.out)
    XCTAssertGreaterThan(splitCounts.evaluation, 0)
    XCTAssertEqual(counts.training, splitCounts.training + splitCounts.evaluation, "--validation-data keeps all of --data")
  }

  func testTrainMLMWholeWordMask() throws {
    let out = dir + "/wwm"
    let r = try loom([
      "train", "mlm", "--data", Self.fixtures + "/mlm.txt", "--tokenizer", Self.roberta, "--preset", "tiny",
      "--whole-word-mask", "--max-seq-length", "32", "--max-steps", "40", "--learning-rate", "2e-3", "--batch-size",
      "8", "--logging-steps", "10", "--validation-split", "0", "--save-strategy", "no", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    let l = try losses(out)
    XCTAssertGreaterThanOrEqual(l.count, 4)
    XCTAssertLessThan(l.last!, l.first! * 0.8, "MLM loss should fall: \(l)")
    XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/model.safetensors"))
    // The collator the flag builds, on the same tokenizer: "wolfSSL_Init" is "ĠwolfSSL _ Init"
    // and "unbelievable" eleven pieces, each one word.
    let tok = try Tokenizer.fromPretrained(Self.roberta)
    let ids = try CollatorIds(tok)
    XCTAssertTrue(ids.continuationTokenIds.contains(Int(tok.tokenToId("_")!)))
    XCTAssertFalse(ids.continuationTokenIds.contains(Int(tok.tokenToId("Ġmovie")!)))
    XCTAssertTrue(ids.continuationTokenIds.isDisjoint(with: ids.specialTokenIds))
    let lines = try String(contentsOfFile: Self.fixtures + "/mlm.txt", encoding: .utf8).split(separator: "\n").map(String.init)
    let masked = try assertWholeWordMasks(tok, lines + ["the unbelievable movie", "static int wolfSSL_Init ( void ) ;"])
    XCTAssertGreaterThan(masked, 10, "multi-piece words were masked")
  }

  func testWholeWordMaskGroupsWordPieces() throws {
    let vocab = [
      "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "movie", "was", "good", "un", "##believ", "##able", "act",
      "##ors", "were", "play", "##ing", "##s",
    ]
    try (vocab.joined(separator: "\n") + "\n").write(toFile: dir + "/vocab.txt", atomically: true, encoding: .utf8)
    let tok = try Tokenizer.fromPretrained(dir)
    XCTAssertEqual(try CollatorIds(tok).continuationTokenIds, [10, 11, 13, 16, 17])
    let masked = try assertWholeWordMasks(
      tok, ["the movie was unbelievable", "the actors were playing", "the movie was good", "the acts"])
    XCTAssertGreaterThan(masked, 10, "multi-piece words were masked")
  }

  /// Runs the whole-word collator `train mlm --whole-word-mask` builds on each line many times
  /// and checks that the pieces of each space-separated word are masked together; returns how
  /// often a word of several pieces was masked.
  func assertWholeWordMasks(_ tok: Tokenizer, _ lines: [String]) throws -> Int {
    let ids = try CollatorIds(tok)
    let c = try DataCollatorForWholeWordMask(
      padTokenId: ids.padTokenId, maskTokenId: try ids.requireMask(), vocabSize: ids.vocabSize,
      specialTokenIds: ids.specialTokenIds, continuationTokenIds: ids.continuationTokenIds, mlmProbability: 0.3,
      seed: 3)
    var multiPiece = 0
    for line in lines {
      let e = try tok.encode(line)
      let bytes = Array(line.utf8)
      // Each token's word: the space-separated word holding its first non-space byte.
      var words = [Int: [Int]]()
      for i in e.ids.indices where e.specialTokensMask[i] == 0 {
        var p = e.byteOffsets[i].lowerBound
        while p < bytes.count && bytes[p] == 32 { p += 1 }
        words[bytes[...p].split(separator: 32).count - 1, default: []].append(i)
      }
      for _ in 0..<20 {
        let b = try c([["input_ids": e.ids.map(Int.init)]])
        let labels = b.labels.toArray(Int64.self)
        XCTAssertTrue(labels.contains { $0 != -100 }, line)
        for (w, pieces) in words {
          let m = pieces.map { labels[$0] != -100 }
          XCTAssertTrue(m.allSatisfy { $0 } || m.allSatisfy { !$0 }, "\(line): word \(w) partly masked: \(labels)")
          if pieces.count > 1 && m[0] { multiPiece += 1 }
        }
        for i in e.ids.indices where e.specialTokensMask[i] == 1 { XCTAssertEqual(labels[i], -100) }
      }
    }
    return multiPiece
  }

  /// Fine-tuning reloads the best epoch by default; an explicit `--eval-strategy no` (or
  /// `--no-load-best-model-at-end`) turns that default off instead of failing on it.
  func testTrainClassifyWithoutEvaluation() throws {
    let base = [
      "train", "classify", "--model", Self.roberta, "--data", Self.fixtures + "/classify.csv", "--text-column",
      "sentence", "--label-column", "label", "--max-steps", "2", "--batch-size", "4", "--save-strategy", "no",
    ]
    for (i, extra) in [["--eval-strategy", "no"], ["--no-load-best-model-at-end"]].enumerated() {
      let out = dir + "/no-eval-\(i)"
      let r = try loom(base + extra + ["--output-dir", out])
      XCTAssertEqual(r.status, 0, "\(extra): \(r.err)")
      XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/model.safetensors"), "\(extra)")
    }
    let r = try loom(base + ["--eval-strategy", "no", "--load-best-model-at-end", "--output-dir", dir + "/x"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.err.contains("--load-best-model-at-end needs an --eval-strategy"), r.err)
  }

  func testTrainClassifyThenClassify() throws {
    let out = dir + "/cls"
    let r = try loom([
      "train", "classify", "--model", Self.roberta, "--data", Self.fixtures + "/classify.csv",
      "--validation-data", Self.fixtures + "/classify-eval.csv", "--text-column", "sentence", "--label-column", "label",
      "--epochs", "4", "--learning-rate", "3e-3", "--batch-size", "8", "--logging-steps", "2", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    let l = try losses(out)
    XCTAssertLessThan(l.suffix(3).reduce(0, +) / 3, l.prefix(3).reduce(0, +) / 3, "loss should fall: \(l)")
    let evals = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
      .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
      .filter { $0["eval_accuracy"] != nil }
    XCTAssertEqual(evals.count, 4, "evaluated each epoch")
    XCTAssertNotNil(evals.last?["eval_f1"])
    let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
    XCTAssertEqual(config["id2label"] as? [String: String], ["0": "neg", "1": "pos"])
    let c = try loom(["classify", "--model", out, "--text", "the film was great", "--all-labels"])
    XCTAssertEqual(c.status, 0, c.err)
    let preds = jsonLines(c.out) as! [[String: Any]]
    XCTAssertEqual(Set(preds.compactMap { $0["label"] as? String }), ["neg", "pos"])
    XCTAssertEqual(preds.map { $0["score"] as! Double }.reduce(0, +), 1, accuracy: 1e-5, "softmax scores")
  }

  /// The fixture's sentences with float labels: `score` (pos 1.5, neg −0.5) and `tags`
  /// (the sentiment, plus "movie" when the sentence names one), ';'-separated.
  func floatLabelCSV(_ name: String) throws -> (path: String, sentences: [String], scores: [Double], tags: [Set<String>]) {
    let rows = try String(contentsOfFile: Self.fixtures + "/" + name, encoding: .utf8).split(whereSeparator: \.isNewline)
      .dropFirst()
      .map { $0.split(separator: ",").map(String.init) }
    let sentences = rows.map { $0[0] }
    let scores = rows.map { $0[1] == "pos" ? 1.5 : -0.5 }
    let tags = rows.map { r in Set([r[1]] + (r[0].contains("movie") ? ["movie"] : [])) }
    let path = dir + "/float-" + name
    let lines = sentences.indices.map { "\(sentences[$0]),\(scores[$0]),\(tags[$0].sorted().joined(separator: ";"))" }
    try (["sentence,score,tags"] + lines).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return (path, sentences, scores, tags)
  }

  func evalRecords(_ out: String) throws -> [[String: Any]] {
    try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
      .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
      .filter { $0["eval_loss"] != nil }
  }

  /// `loom train classify` for 10 epochs on the float-label copies of the fixture's files.
  func trainFloatLabels(_ out: String, _ flags: [String]) throws -> (
    out: String, eval: (path: String, sentences: [String], scores: [Double], tags: [Set<String>])
  ) {
    let (train, eval) = (try floatLabelCSV("classify.csv"), try floatLabelCSV("classify-eval.csv"))
    let r = try loom(
      [
        "train", "classify", "--model", Self.roberta, "--data", train.path, "--validation-data", eval.path,
        "--text-column", "sentence", "--epochs", "10", "--learning-rate", "3e-3", "--batch-size", "8",
        "--logging-steps", "2", "--output-dir", dir + "/" + out,
      ] + flags)
    XCTAssertEqual(r.status, 0, r.err)
    XCTAssertTrue(r.out.contains(flags.count == 2 ? "regression" : "multi_label_classification"), r.out)
    return (dir + "/" + out, eval)
  }

  func testTrainClassifyRegression() throws {
    let (out, eval) = try trainFloatLabels("reg", ["--label-column", "score"])
    let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
    XCTAssertEqual(config["problem_type"] as? String, "regression")
    XCTAssertEqual(config["id2label"] as? [String: String], ["0": "LABEL_0"])
    let evals = try evalRecords(out)
    XCTAssertEqual(evals.count, 10, "evaluated each epoch")
    // The eval loss is the MSE itself (HF's MSELoss on the squeezed logits).
    for e in evals { XCTAssertEqual(e["eval_mse"] as! Double, e["eval_loss"] as! Double, accuracy: 1e-5) }
    let best = evals.map { $0["eval_mse"] as! Double }.min()!
    XCTAssertLessThan(best, 0.2, "the scores are learnable (their variance is about 1)")
    // `loom classify` prints the raw value (function_to_apply none); the saved (best) model's
    // values give the best epoch's mse and Pearson's r.
    var values = [Double]()
    for s in eval.sentences {
      let c = try loom(["classify", "--model", out, "--text", s])
      XCTAssertEqual(c.status, 0, c.err)
      let p = try JSONSerialization.jsonObject(with: Data(c.out.utf8)) as! [String: Any]
      XCTAssertEqual(p["label"] as? String, "LABEL_0")
      values.append(p["score"] as! Double)
    }
    let mse = zip(values, eval.scores).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(values.count)
    XCTAssertEqual(mse, best, accuracy: 1e-4)
    XCTAssertTrue(values.contains { $0 < 0 || $0 > 1 }, "raw values, not probabilities: \(values)")
    let bestRecord = evals.first { $0["eval_mse"] as! Double == best }!
    let (mv, ms) = (values.reduce(0, +) / Double(values.count), eval.scores.reduce(0, +) / Double(values.count))
    let cov = zip(values, eval.scores).map { ($0 - mv) * ($1 - ms) }.reduce(0, +)
    let r2 = cov / (values.map { ($0 - mv) * ($0 - mv) }.reduce(0, +) * eval.scores.map { ($0 - ms) * ($0 - ms) }.reduce(0, +)).squareRoot()
    XCTAssertEqual(bestRecord["eval_pearson"] as! Double, r2, accuracy: 1e-3)
  }

  func testTrainClassifyMultiLabel() throws {
    let (out, eval) = try trainFloatLabels("multi", ["--label-column", "tags", "--label-separator", ";"])
    let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
    XCTAssertEqual(config["problem_type"] as? String, "multi_label_classification")
    let names = ["movie", "neg", "pos"]
    XCTAssertEqual(config["id2label"] as? [String: String], ["0": "movie", "1": "neg", "2": "pos"])
    let evals = try evalRecords(out)
    XCTAssertEqual(evals.count, 10, "evaluated each epoch")
    let bestRecord = evals.max { ($0["eval_f1_micro"] as! Double) < ($1["eval_f1_micro"] as! Double) }!
    XCTAssertGreaterThan(bestRecord["eval_f1_micro"] as! Double, 0.8, "the tags are learnable: \(evals)")
    // `loom classify --all-labels` gives each label's sigmoid; > 0.5 reproduces the best
    // epoch's exact-match accuracy and micro / macro F1.
    var exact = 0
    var tp = [String: Int](), fp = [String: Int](), fn = [String: Int]()
    for (s, truth) in zip(eval.sentences, eval.tags) {
      let c = try loom(["classify", "--model", out, "--text", s, "--all-labels"])
      XCTAssertEqual(c.status, 0, c.err)
      let preds = jsonLines(c.out) as! [[String: Any]]
      XCTAssertEqual(Set(preds.map { $0["label"] as! String }), Set(names))
      let scores = preds.map { $0["score"] as! Double }
      XCTAssertTrue(scores.allSatisfy { $0 > 0 && $0 < 1 })
      XCTAssertNotEqual(scores.reduce(0, +), 1, accuracy: 1e-3, "sigmoid, not softmax")
      let predicted = Set(preds.filter { ($0["score"] as! Double) > 0.5 }.map { $0["label"] as! String })
      if predicted == truth { exact += 1 }
      for n in names {
        switch (predicted.contains(n), truth.contains(n)) {
        case (true, true): tp[n, default: 0] += 1
        case (true, false): fp[n, default: 0] += 1
        case (false, true): fn[n, default: 0] += 1
        default: break
        }
      }
    }
    func f1(_ t: Int, _ f: Int, _ n: Int) -> Double { 2 * t + f + n > 0 ? Double(2 * t) / Double(2 * t + f + n) : 0 }
    let micro = f1(tp.values.reduce(0, +), fp.values.reduce(0, +), fn.values.reduce(0, +))
    let macro = names.map { f1(tp[$0] ?? 0, fp[$0] ?? 0, fn[$0] ?? 0) }.reduce(0, +) / 3
    XCTAssertEqual(bestRecord["eval_accuracy"] as! Double, Double(exact) / Double(eval.sentences.count), accuracy: 1e-9)
    XCTAssertEqual(bestRecord["eval_f1_micro"] as! Double, micro, accuracy: 1e-9)
    XCTAssertEqual(bestRecord["eval_f1_macro"] as! Double, macro, accuracy: 1e-9)
  }

  func testTrainTokenClassifyReportsSeqeval() throws {
    let out = dir + "/ner"
    let data = Self.fixtures + "/ner.jsonl"
    let r = try loom([
      "train", "token-classify", "--model", Self.roberta, "--data", data, "--validation-data", data, "--epochs", "8",
      "--learning-rate", "1e-2", "--batch-size", "4", "--logging-steps", "6", "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    let l = try losses(out)
    XCTAssertLessThan(l.last!, l.first!, "loss should fall: \(l)")
    let evals = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
      .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
      .compactMap { $0["eval_f1"] as? Double }
    XCTAssertEqual(evals.count, 8)
    XCTAssertGreaterThan(evals.max()!, 0.75, "the tags are learnable: \(evals)")
    let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
    XCTAssertEqual(config["id2label"] as? [String: String], ["0": "B-LOC", "1": "B-PER", "2": "O"])
  }

  func testTrainQAThenAnswer() throws {
    let out = dir + "/qa"
    let data = Self.fixtures + "/squad.json"
    let r = try loom([
      "train", "qa", "--model", Self.roberta, "--data", data, "--validation-data", data, "--max-seq-length", "48",
      "--doc-stride", "8", "--epochs", "2", "--learning-rate", "5e-3", "--batch-size", "2", "--logging-steps", "1",
      "--output-dir", out,
    ])
    XCTAssertEqual(r.status, 0, r.err)
    let records = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
      .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    let em = records.compactMap { $0["eval_exact_match"] as? Double }
    XCTAssertEqual(em.count, 2, "evaluated each epoch")
    XCTAssertTrue(em.allSatisfy { (0...100).contains($0) })
    let a = try loom(["qa", "--model", out, "--question", "where does the person live ?", "--context", "bob lives in rome and the movie was good ."])
    XCTAssertEqual(a.status, 0, a.err)
    let answer = try JSONSerialization.jsonObject(with: Data(a.out.utf8)) as! [String: Any]
    let (start, end) = (answer["start"] as! Int, answer["end"] as! Int)
    let context = Array("bob lives in rome and the movie was good .".unicodeScalars)
    XCTAssertEqual(answer["answer"] as? String, String(String.UnicodeScalarView(context[start..<end])), "the span's text")
    XCTAssertGreaterThan(answer["score"] as! Double, 0)
  }

  func testBadInputsGiveClearErrors() throws {
    let csv = Self.fixtures + "/classify.csv"
    let unseen = dir + "/unseen.csv"
    try "sentence,label\nthe film was fine,neutral\n".write(toFile: unseen, atomically: true, encoding: .utf8)
    let multiUnseen = dir + "/multi-unseen.csv"
    try "sentence,label\nthe film was fine,pos;neutral\n".write(toFile: multiUnseen, atomically: true, encoding: .utf8)
    let long = Array(repeating: "the movie was good", count: 40).joined(separator: " ") + " <mask>"
    var cases: [([String], String)] = [
      (["fill-mask", "--model", Self.roberta, "--text", "no mask here"], "no mask token (<mask>)"),
      (["fill-mask", "--model", Self.roberta, "--text", long], "more than the model's 64 positions"),
      (
        [
          "train", "classify", "--model", Self.roberta, "--data", csv, "--text-column", "text", "--label-column", "label",
          "--output-dir", dir + "/a",
        ], "has no column 'text'"
      ),
      (
        [
          "train", "classify", "--model", Self.roberta, "--data", csv, "--validation-data", unseen, "--text-column",
          "sentence", "--label-column", "label", "--output-dir", dir + "/b",
        ], "label 'neutral' is not one of the model's labels"
      ),
      (
        [
          "train", "classify", "--model", Self.roberta, "--data", csv, "--text-column", "sentence", "--label-column",
          "label", "--max-seq-length", "500", "--output-dir", dir + "/c",
        ], "exceeds the model's 64 positions"
      ),
      (["train", "mlm", "--data", Self.fixtures + "/mlm.txt", "--output-dir", dir + "/d"], "--tokenizer"),
      (
        [
          "train", "mlm", "--data", Self.fixtures + "/mlm.txt", "--validation-data", dir + "/missing.txt",
          "--tokenizer", Self.roberta, "--preset", "tiny", "--output-dir", dir + "/v",
        ], "--validation-data \(dir!)/missing.txt"
      ),
      (
        [
          "train", "mlm", "--data", Self.fixtures + "/mlm.txt", "--validation-data", Self.fixtures + "/mlm.txt",
          "--nsp", "--model-type", "bert", "--tokenizer", Self.roberta, "--output-dir", dir + "/n",
        ], "--validation-data is not supported with --nsp yet"
      ),
      (
        [
          "train", "classify", "--model", Self.roberta, "--data", csv, "--text-column", "sentence", "--label-column",
          "label", "--problem-type", "multi_label", "--output-dir", dir + "/e",
        ], "--problem-type must be regression, single_label_classification, multi_label_classification"
      ),
      (
        [
          "train", "classify", "--model", Self.roberta, "--data", csv, "--text-column", "sentence", "--label-column",
          "label", "--problem-type", "regression", "--output-dir", dir + "/f",
        ], "row 0: expected a number, found \"neg\"; regression needs numeric labels"
      ),
      (
        [
          "train", "classify", "--model", Self.roberta, "--data", csv, "--text-column", "sentence", "--label-column",
          "label", "--label-separator", ";", "--problem-type", "regression", "--output-dir", dir + "/g",
        ], "--label-separator splits multi-label cells; it contradicts --problem-type regression"
      ),
      (
        [
          "train", "classify", "--model", Self.roberta, "--data", csv, "--validation-data", multiUnseen,
          "--text-column", "sentence", "--label-column", "label", "--label-separator", ";", "--output-dir", dir + "/h",
        ], "row 1: unseen label 'neutral'"
      ),
      (["embed", "--model", Self.roberta, "--text", "x", "--pooling", "max"], "--pooling must be mean or cls"),
    ]
    let minilm = NSHomeDirectory() + "/.cache/loom/minilm"
    if FileManager.default.fileExists(atPath: minilm + "/tokenizer.json") {
      cases.append(
        (["fill-mask", "--model", Self.roberta, "--tokenizer", minilm, "--text", "a [MASK] b"], "does not match"))
    }
    for (args, message) in cases {
      let r = try loom(args)
      XCTAssertNotEqual(r.status, 0, "\(args) should fail")
      XCTAssertTrue(r.err.contains(message), "\(args): expected '\(message)' in: \(r.err)")
      XCTAssertFalse(r.err.contains("Fatal error"), "\(args) trapped: \(r.err)")
    }
  }
}
