import ArgumentParser

/// `caravan`: the command-line client.
@main
struct CaravanCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caravan",
        abstract: "The Caravan command-line client.",
        discussion: "The job, node and operator commands are not built yet; see the README's roadmap.",
        subcommands: [TLSCommand.self]
    )
}
