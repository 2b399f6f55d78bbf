// swift-tools-version: 6.0
import PackageDescription

// Layers (imports flow one way):
//   CBLAS, CLoomKernels (C)  →  LoomCore (tensor, autograd, CPU backend)
//   →  LoomNN, LoomOptim  →  LoomIO (safetensors)  →  models / train / generate / adapt (PEFT)  →  loom CLI
// LoomTokenizers stands alone (no tensors); LoomDatasets (columnar datasets, metrics, QA
// pre/post-processing) sits on it, still without tensors.

#if canImport(Darwin)
let blasLinker: [LinkerSetting] = [.linkedFramework("Accelerate")]
#else
let blasLinker: [LinkerSetting] = []
#endif

let package = Package(
  name: "Loom",
  platforms: [.macOS(.v14)],
  products: [
    .library(name: "LoomCore", targets: ["LoomCore"]),
    .library(name: "LoomNN", targets: ["LoomNN"]),
    .library(name: "LoomOptim", targets: ["LoomOptim"]),
    .library(name: "LoomIO", targets: ["LoomIO"]),
    .library(name: "LoomTokenizers", targets: ["LoomTokenizers"]),
    .library(name: "LoomDatasets", targets: ["LoomDatasets"]),
    .library(name: "LoomPlot", targets: ["LoomPlot"]),
    .library(name: "LoomModels", targets: ["LoomModels"]),
    .library(name: "LoomGenerate", targets: ["LoomGenerate"]),
    .library(name: "LoomTrain", targets: ["LoomTrain"]),
    .library(name: "LoomAdapt", targets: ["LoomAdapt"]),
    .library(name: "LoomPostTrain", targets: ["LoomPostTrain"]),
    .library(name: "LoomDiffusion", targets: ["LoomDiffusion"]),
    .library(name: "LoomCage", targets: ["LoomCage"]),
    .library(name: "LoomDistributed", targets: ["LoomDistributed"]),
    .executable(name: "loom", targets: ["loom"]),
    .executable(name: "loom-bench", targets: ["loom-bench"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    .systemLibrary(
      name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    .target(
      name: "CLoomKernels", path: "Sources/CLoomKernels",
      linkerSettings: [
        .linkedLibrary("sleef", .when(platforms: [.linux])),
        .linkedLibrary("openblas", .when(platforms: [.linux])),
        .linkedLibrary("dnnl", .when(platforms: [.linux])),
        .linkedLibrary("gomp", .when(platforms: [.linux])),
        .linkedLibrary("pthread", .when(platforms: [.linux])),
        .linkedFramework("Accelerate", .when(platforms: [.macOS])),
      ]),
    .target(
      name: "LoomCore",
      dependencies: [
        "CLoomKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux])),
        .product(name: "RealModule", package: "swift-numerics"),
      ],
      linkerSettings: blasLinker),
    .target(name: "LoomNN", dependencies: ["LoomCore"]),
    .target(name: "LoomOptim", dependencies: ["LoomCore", "LoomNN"]),
    .systemLibrary(
      name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
    .target(name: "LoomIO", dependencies: ["LoomCore", "CZlib"]),
    .target(name: "LoomTokenizers"),
    .target(name: "LoomDatasets", dependencies: ["LoomTokenizers"]),
    .target(name: "LoomModels", dependencies: ["LoomCore", "LoomNN", "LoomIO"]),
    .target(name: "LoomGenerate", dependencies: ["LoomCore", "LoomNN", "LoomIO", "LoomModels", "LoomTokenizers", "LoomDatasets"]),
    .target(name: "LoomTrain", dependencies: ["LoomCore", "LoomNN", "LoomOptim", "LoomIO", "LoomModels"]),
    .target(name: "LoomAdapt", dependencies: ["LoomCore", "LoomNN", "LoomOptim", "LoomIO", "LoomModels"]),
    // Post-training (trl's methods): distillation, reward models, DPO, PPO and its environments.
    .target(
      name: "LoomPostTrain",
      dependencies: [
        "LoomCore", "LoomNN", "LoomOptim", "LoomIO", "LoomModels", "LoomTrain", "LoomGenerate", "LoomAdapt",
        "LoomTokenizers", "LoomDatasets",
      ]),
    // Diffusion (diffusers' schedulers and pipelines) and GAN training on top of the image models.
    .target(
      name: "LoomDiffusion", dependencies: ["LoomCore", "LoomNN", "LoomOptim", "LoomIO", "LoomModels", "LoomTrain"]),
    // The safety cage: validators around a model's inputs and outputs (C analysis, text, model-based), policies, audit.
    .target(
      name: "LoomCage",
      dependencies: ["LoomCore", "LoomNN", "LoomIO", "LoomModels", "LoomGenerate", "LoomTokenizers", "CClang", "CClangLoader",
        .product(name: "Yams", package: "Yams"),
      ]),
    // libclang's headers (Debian's libclang-dev, LLVM 14) for the cage's C analyser; scripts/install.sh writes
    // libclang.pc. The library itself is not linked: CClangLoader opens it when the analyser first runs.
    .systemLibrary(
      name: "CClang", path: "Sources/CClang", pkgConfig: "libclang",
      providers: [.apt(["libclang-dev"])]),
    .target(
      name: "CClangLoader", dependencies: ["CClang"], path: "Sources/CClangLoader",
      linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
    // Data parallelism over MPI (OpenMPI): collectives, DistributedDataParallel, the Trainer's context.
    .systemLibrary(
      name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
      providers: [.apt(["libopenmpi-dev"]), .brew(["open-mpi"])]),
    .target(
      name: "LoomDistributed", dependencies: ["LoomCore", "LoomNN", "LoomOptim", "LoomTrain", "CMPI"]),
    .systemLibrary(
      name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo",
      providers: [.apt(["libcairo2-dev"]), .brew(["cairo"])]),
    .target(name: "LoomPlot", dependencies: ["CCairo"]),
    .executableTarget(
      name: "loom",
      dependencies: [
        "LoomCore", "LoomNN", "LoomOptim", "LoomIO", "LoomTokenizers", "LoomPlot", "LoomModels", "LoomGenerate", "LoomTrain",
        "LoomDatasets", "LoomAdapt", "LoomPostTrain", "LoomDiffusion", "LoomCage", "LoomDistributed",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(
      name: "loom-bench",
      dependencies: [
        "LoomCore", "LoomNN", "LoomOptim", "LoomIO", "LoomTokenizers", "CLoomKernels", "LoomModels", "LoomGenerate", "LoomTrain",
        "LoomDatasets", "LoomAdapt", "LoomPostTrain", "LoomDiffusion", "LoomDistributed", "LoomCage",
        .target(name: "CBLAS", condition: .when(platforms: [.linux])),
      ],
      linkerSettings: blasLinker),
    // Shared by the test targets: runs the built `loom` binary for CLI tests.
    .target(name: "LoomTestSupport", path: "Tests/LoomTestSupport"),
    .testTarget(name: "LoomKernelsTests", dependencies: ["CLoomKernels"]),
    .testTarget(name: "LoomCoreTests", dependencies: ["LoomCore"], resources: [.copy("Fixtures")]),
    .testTarget(name: "LoomNNTests", dependencies: ["LoomCore", "LoomNN", "LoomOptim", "LoomIO"], resources: [.copy("Fixtures")]),
    .testTarget(name: "LoomIOTests", dependencies: ["LoomCore", "LoomIO"], resources: [.copy("Fixtures")]),
    .testTarget(name: "LoomPlotTests", dependencies: ["LoomPlot"]),
    .testTarget(name: "LoomTrainTests", dependencies: ["LoomCore", "LoomNN", "LoomOptim", "LoomIO", "LoomTrain"]),
    .testTarget(
      name: "LoomModelsTests",
      dependencies: [
        "LoomTestSupport", "LoomCore", "LoomNN", "LoomOptim", "LoomIO", "LoomModels", "LoomGenerate", "LoomTokenizers", "LoomDatasets",
        "LoomTrain", "LoomPlot",
      ],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "LoomAdaptTests",
      dependencies: [
        "LoomTestSupport", "LoomCore", "LoomNN", "LoomOptim", "LoomIO", "LoomModels", "LoomAdapt", "LoomTrain", "LoomGenerate",
        "LoomTokenizers",
      ],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "LoomPostTrainTests",
      dependencies: [
        "LoomTestSupport", "LoomCore", "LoomNN", "LoomOptim", "LoomIO", "LoomModels", "LoomAdapt", "LoomTrain", "LoomGenerate",
        "LoomTokenizers", "LoomDatasets", "LoomPostTrain",
      ],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "LoomDiffusionTests",
      dependencies: ["LoomTestSupport", "LoomCore", "LoomNN", "LoomOptim", "LoomIO", "LoomModels", "LoomTrain", "LoomDiffusion"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "LoomCageTests",
      dependencies: ["LoomTestSupport", "LoomCore", "LoomNN", "LoomIO", "LoomModels", "LoomGenerate", "LoomTokenizers", "LoomTrain", "LoomCage"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "LoomDistributedTests",
      dependencies: ["LoomTestSupport", "LoomCore", "LoomNN", "LoomOptim", "LoomIO", "LoomTrain", "LoomDistributed"]),
    .testTarget(name: "LoomTokenizersTests", dependencies: ["LoomTokenizers", "LoomTestSupport"], resources: [.copy("Fixtures")]),
    .testTarget(
      name: "LoomDatasetsTests", dependencies: ["LoomDatasets", "LoomTokenizers"], resources: [.copy("Fixtures")]),
  ],
  swiftLanguageModes: [.v5]
)
