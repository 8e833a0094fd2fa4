import ArgumentParser

/// `caravan`: the command-line client. Its commands arrive with issue 8.
@main
struct CaravanCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caravan",
        abstract: "The Caravan command-line client.",
        discussion: "The job, node and operator commands are not built yet; see the README's roadmap."
    )

    func run() throws {
        throw ValidationError("no commands are available yet")
    }
}
