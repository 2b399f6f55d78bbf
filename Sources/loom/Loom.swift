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
      SampleCommand.self,
    ])
}
