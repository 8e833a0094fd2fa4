import ArgumentParser

/// `caravan`: the command-line client.
@main
struct CaravanCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caravan",
        abstract: "The Caravan command-line client.",
        discussion: """
            Every command that talks to a cluster takes --address (default: $CARAVAN_ADDR, else \
            127.0.0.1:7647); for mutual TLS, --ca-cert, --client-cert and --client-key (default: \
            $CARAVAN_CACERT, $CARAVAN_CLIENT_CERT, $CARAVAN_CLIENT_KEY) with a CLI certificate from \
            `caravan tls cert create --cli`; --namespace (default: $CARAVAN_NAMESPACE, else default); \
            and --json for machine-readable output instead of tables.

            Errors are one message on stderr and exit code 1 (`job run`: 2 when allocations could \
            not be placed; `job plan`: 1 means changes, 255 an error; `run`: the task's exit code, \
            125 when it did not run).

            Shell completion: `caravan --generate-completion-script bash` (or zsh, fish) prints a \
            script to source, such as `caravan --generate-completion-script bash > /etc/bash_completion.d/caravan`.
            """,
        subcommands: [
            RunCommand.self, JobCommand.self, AllocCommand.self, NodeCommand.self, ServerCommand.self,
            OperatorCommand.self, TLSCommand.self,
        ]
    )
}
