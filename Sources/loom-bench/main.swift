// loom-bench SUITE [options]: prints one JSON line per figure
// ({"suite","bench","config","value","unit",...}); bench/compare.sh pairs it with
// bench/pytorch/SUITE.py.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let suites: [String: ([String]) throws -> Void] = [
  "engine": runEngineBench,
  "tokenizers": runTokenizersBench,
  "gpt": runGPTBench,
  "autoencoders": runAutoencodersBench,
  "encoders": runEncodersBench,
  "seq2seq": runSeq2SeqBench,
  "transformer-reverse": runTransformerReverseBench,
  "peft": runPeftBench,
  "posttrain": runPostTrainBench,
  "ddp": runDDPBench,
  "cage": runCageBench,
  "quant": runQuantBench,
  "images": runImagesBench,
]
guard let suite = arguments.first, let run = suites[suite] else {
  let names = suites.keys.sorted().joined(separator: ", ")
  FileHandle.standardError.write("usage: loom-bench SUITE [options]\nsuites: \(names)\n".data(using: .utf8)!)
  exit(2)
}
do {
  try run(Array(arguments.dropFirst()))
} catch {
  FileHandle.standardError.write("loom-bench \(suite): \(error)\n".data(using: .utf8)!)
  exit(1)
}
