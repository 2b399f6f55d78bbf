import Foundation
import LoomTokenizers

// `loom-bench tokenizers [REPS]`: byte-level BPE training and encode throughput on >= 10 MB
// of real C code; bench/pytorch/tokenizers.py runs the same workloads with HF tokenizers.

private let benchRoots = [
  "/usr/include/wolfssl", "/usr/include/cyassl", "/usr/share/doc/libwolfssl-dev/examples",
  "/usr/include/openssl", "/usr/include/linux", "/usr/include/x86_64-linux-gnu",
]
private let benchSingles = [
  "/usr/include/sqlite3.h", "/usr/include/sqlite3ext.h", "/usr/include/zlib.h",
  "/usr/include/zconf.h",
]

/// The same file list as the Python side: sorted .h/.c under the roots, then the single headers.
private func benchCorpus() -> [String] {
  let fm = FileManager.default
  var files = [String]()
  for root in benchRoots {
    guard let e = fm.enumerator(atPath: root) else { continue }
    for case let rel as String in e where rel.hasSuffix(".h") || rel.hasSuffix(".c") {
      let p = root + "/" + rel
      if (try? fm.destinationOfSymbolicLink(atPath: p)) != nil { continue }
      var isDir: ObjCBool = false
      if fm.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue { files.append(p) }
    }
  }
  // Python sorts full paths bytewise.
  files.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
  return files + benchSingles.filter { fm.fileExists(atPath: $0) }
}

func runTokenizersBench(_ args: [String]) throws {
  let reps = args.first.flatMap { Int($0) } ?? 3
  let files = benchCorpus()
  guard !files.isEmpty else {
    throw TokenizerError.missingAsset(path: "/usr/include/wolfssl", command: LoomHome.fetchCommand)
  }
  let texts = try files.map {
    String(decoding: try Data(contentsOf: URL(fileURLWithPath: $0)), as: UTF8.self)
  }
  let bytes = texts.reduce(0) { $0 + $1.utf8.count }
  let mb = Double(bytes) / 1e6
  let config = String(format: "%d C files, %.1f MB", files.count, mb)

  var times = [Double]()
  var result: BPETrainer.Result?
  for _ in 0..<reps {
    var trainer = BPETrainer(
      vocabSize: 52000, minFrequency: 2, specialTokens: ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    trainer.showProgress = false
    let t0 = now()
    result = try trainer.train(files: files)
    times.append(now() - t0)
  }
  emit(
    suite: "tokenizers", bench: "train_bpe", config: config + ", vocab 52000, min_frequency 2",
    value: median(times),
    unit: "s", extra: ["impl": "loom", "vocab": result!.vocab.count, "runs": times])

  let tok = try result!.tokenizer()
  let lines = texts.flatMap {
    $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
  }
  for (name, batch) in [("encode_lines", lines), ("encode_files", texts)] {
    var ts = [Double]()
    var ntok = 0
    for _ in 0..<reps {
      let t0 = now()
      let enc = try tok.encodeBatch(batch)
      ts.append(now() - t0)
      ntok = enc.reduce(0) { $0 + $1.count }
    }
    let t = median(ts)
    emit(
      suite: "tokenizers", bench: name, config: config + ", batch of \(batch.count)", value: mb / t,
      unit: "MB/s",
      extra: ["impl": "loom", "tokens": ntok, "seconds": t])
    // Ids only (no offsets/tokens/masks): the path token datasets take.
    var tsIds = [Double]()
    for _ in 0..<reps {
      let t0 = now()
      var total = 0
      let chunks = ProcessInfo.processInfo.activeProcessorCount * 4
      let lock = NSLock()
      DispatchQueue.concurrentPerform(iterations: chunks) { c in
        var n = 0
        var out = [UInt32]()
        for i in (batch.count * c / chunks)..<(batch.count * (c + 1) / chunks) {
          out.removeAll(keepingCapacity: true)
          var s = batch[i]
          s.withUTF8 { tok.encodeIds(bytes: $0, into: &out) }
          n += out.count
        }
        lock.lock()
        total += n
        lock.unlock()
      }
      tsIds.append(now() - t0)
      precondition(total == ntok, "ids-only path disagrees with encodeBatch")
    }
    emit(
      suite: "tokenizers", bench: name + "_ids", config: config + ", batch of \(batch.count), ids only",
      value: mb / median(tsIds), unit: "MB/s", extra: ["impl": "loom", "tokens": ntok, "seconds": median(tsIds)])
  }
}
