import ArgumentParser
import Foundation

@main
struct Loom: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "loom",
    abstract: "Build, train and run generative models natively in Swift.",
    subcommands: [
      TrainCommand.self, GenerateCommand.self, SummaryCommand.self, TokenizerCommand.self,
      DemoCommand.self, FillMaskCommand.self, EmbedCommand.self, ClassifyCommand.self, QACommand.self,
      TokenClassifyCommand.self,
      SampleCommand.self, LaunchCommand.self, CageCommand.self,
    ])

  /// ArgumentParser's `main`, with two additions: the ranks of an mpirun launch (if any) join before the command
  /// runs and leave MPI cleanly after, and `loom cage`'s usage errors exit with 2 (its documented contract).
  static func main() {
    let arguments = Array(CommandLine.arguments.dropFirst())
    do {
      try DistributedLaunch.start()
      var command = try parseAsRoot(arguments)
      try command.run()
    } catch {
      let usage = error is CageUsageError || exitCode(for: error) == .validationFailure
      if arguments.first == "cage" && usage {
        let message = (error as? CageUsageError).map { "Error: \($0.description)" } ?? fullMessage(for: error)
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(2)
      }
      exit(withError: error)
    }
    DistributedLaunch.finish()
  }
}
