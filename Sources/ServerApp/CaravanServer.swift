import ArgumentParser

/// `caravand`: the agent executable. Its server, client and dev roles arrive
/// with issues 6 and 8.
@main
struct CaravanServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caravand",
        abstract: "The Caravan agent: server, client or dev mode.",
        discussion: "The agent roles are not built yet; see the README's roadmap."
    )

    func run() throws {
        throw ValidationError("no agent role is available yet (server, client and dev arrive with the agent)")
    }
}
