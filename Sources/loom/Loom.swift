import ArgumentParser

@main
struct Loom: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "loom",
    abstract: "Build, train and run generative models natively in Swift.",
    subcommands: [
      TrainCommand.self, GenerateCommand.self, SummaryCommand.self, TokenizerCommand.self,
      DemoCommand.self, FillMaskCommand.self, EmbedCommand.self, ClassifyCommand.self, QACommand.self,
      TokenClassifyCommand.self,
      SampleCommand.self, LaunchCommand.self,
    ])

  /// Joins the ranks of an mpirun launch (if any) before the command runs; leaves MPI cleanly after.
  static func main() {
    do {
      try DistributedLaunch.start()
      var command = try parseAsRoot()
      try command.run()
    } catch {
      exit(withError: error)
    }
    DistributedLaunch.finish()
  }
}
