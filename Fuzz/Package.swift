// swift-tools-version: 6.0
import PackageDescription

// libFuzzer targets for Loom's readers of untrusted files, one executable per reader.
// Built by scripts/fuzz.sh with `-Xswiftc -sanitize=fuzzer,address`. Each target's @main hands
// its LLVMFuzzerTestOneInput to LLVMFuzzerRunDriver (SwiftPM renames executables' main, so
// libFuzzer's own main cannot be used).
let targets: [(String, [Target.Dependency])] = [
  ("fuzz-safetensors", [.product(name: "LoomIO", package: "Loom")]),
  ("fuzz-config", [.product(name: "LoomModels", package: "Loom"), .product(name: "LoomGenerate", package: "Loom")]),
  ("fuzz-tokenizer-json", [.product(name: "LoomTokenizers", package: "Loom")]),
  ("fuzz-vocab-merges", [.product(name: "LoomTokenizers", package: "Loom")]),
  ("fuzz-vocab-txt", [.product(name: "LoomTokenizers", package: "Loom")]),
  ("fuzz-char-vocab", [.product(name: "LoomGenerate", package: "Loom")]),
  ("fuzz-idx", [.product(name: "LoomIO", package: "Loom")]),
  ("fuzz-csv", [.product(name: "LoomDatasets", package: "Loom")]),
  ("fuzz-jsonl", [.product(name: "LoomDatasets", package: "Loom")]),
  ("fuzz-squad", [.product(name: "LoomDatasets", package: "Loom"), .product(name: "LoomTokenizers", package: "Loom")]),
  ("fuzz-adapter-config", [.product(name: "LoomAdapt", package: "Loom")]),
  ("fuzz-c-analyser", [.product(name: "LoomCage", package: "Loom")]),
  ("fuzz-cage-config", [.product(name: "LoomCage", package: "Loom")]),
  ("fuzz-preference", [.product(name: "LoomPostTrain", package: "Loom")]),
  ("fuzz-gan-config", [.product(name: "LoomDiffusion", package: "Loom"), .product(name: "LoomIO", package: "Loom")]),
  ("fuzz-diffusers-config", [
    .product(name: "LoomDiffusion", package: "Loom"), .product(name: "LoomCore", package: "Loom"),
  ]),
  ("fuzz-checkpoint", [
    .product(name: "LoomTrain", package: "Loom"), .product(name: "LoomOptim", package: "Loom"),
    .product(name: "LoomCore", package: "Loom"), .product(name: "LoomIO", package: "Loom"),
  ]),
]

let package = Package(
  name: "LoomFuzz",
  platforms: [.macOS(.v14)],
  dependencies: [.package(name: "Loom", path: "..")],
  targets: [
    .target(name: "CFuzzDriver", path: "Sources/CFuzzDriver"),
    .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"], path: "Sources/FuzzSupport"),
  ]
    + targets.map { name, deps in
      .executableTarget(
        name: name, dependencies: deps + ["FuzzSupport"], path: "Sources/\(name)")
    }
)
