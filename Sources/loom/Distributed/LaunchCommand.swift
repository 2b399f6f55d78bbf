import ArgumentParser
import Foundation
import LoomCore

/// `loom launch --nproc-per-node N [--hostfile F] train …`: runs a loom command on N ranks
/// per machine through OpenMPI's mpirun, for people who know torchrun / accelerate launch.
struct LaunchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "launch",
    abstract: "Run a loom command (e.g. train …) data-parallel on N ranks per machine with mpirun.")

  @Option(name: .customLong("nproc-per-node"), help: "Ranks per machine.") var nprocPerNode: Int
  @Option(help: "OpenMPI hostfile naming the machines (default: this one).") var hostfile: String?
  @Flag(help: "Print the mpirun command instead of running it.") var dryRun = false
  @Argument(parsing: .captureForPassthrough, help: "The loom command and its flags.") var command: [String] = []

  func run() throws {
    guard nprocPerNode >= 1 else { throw ValidationError("--nproc-per-node must be >= 1, got \(nprocPerNode)") }
    guard let first = command.first, !first.hasPrefix("-") else {
      throw ValidationError("give the loom command to run after the launch flags, e.g. loom launch --nproc-per-node 2 train gpt …")
    }
    if let hostfile, !FileManager.default.isReadableFile(atPath: hostfile) {
      throw ValidationError("--hostfile \(hostfile) is not a readable file")
    }
    guard let mpirun = Self.findExecutable("mpirun") else {
      throw LoomError("mpirun is not installed: install OpenMPI (apt install openmpi-bin libopenmpi-dev; brew install open-mpi)")
    }
    let argv = [mpirun] + Self.mpirunFlags(nprocPerNode: nprocPerNode, hostfile: hostfile) + [Self.loomPath()] + command
    if dryRun {
      print(argv.joined(separator: " "))
      return
    }
    let cArgs = argv.map { strdup($0) } + [nil]
    execv(mpirun, cArgs)
    throw LoomError("could not run \(mpirun): \(String(cString: strerror(errno)))")
  }

  /// mpirun's flags: N ranks (per machine with a hostfile), root allowed, and
  /// oversubscription when N is more than this machine's cores.
  static func mpirunFlags(
    nprocPerNode: Int, hostfile: String?, isRoot: Bool = getuid() == 0,
    cores: Int = ProcessInfo.processInfo.activeProcessorCount
  ) -> [String] {
    var flags = hostfile.map { ["--hostfile", $0, "--npernode", String(nprocPerNode)] } ?? ["-np", String(nprocPerNode)]
    if isRoot { flags.append("--allow-run-as-root") }
    if nprocPerNode > cores { flags.append("--oversubscribe") }
    // Settings the ranks read from the environment travel to other machines too.
    for name in ["LOOM_NUM_THREADS", "LOOM_DDP_TIMEOUT", "LOOM_SIMD"] where ProcessInfo.processInfo.environment[name] != nil {
      flags += ["-x", name]
    }
    return flags
  }

  static func loomPath() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
  }

  static func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
  }
}
