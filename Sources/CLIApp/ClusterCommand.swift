import API
import ArgumentParser
import Model

/// A problem the CLI reports as one clear message (lines after the first
/// give details), exiting with `exitCode`.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    var exitCode: Int32?

    init(_ description: String, exitCode: Int32? = nil) {
        self.description = description
        self.exitCode = exitCode
    }
}

/// A command that talks to a cluster. It implements ``execute(_:)``; the
/// connection, and turning every error into one message on stderr and an
/// exit code, are done here, so no command ends with a stack trace.
protocol ClusterCommand: AsyncParsableCommand {
    var global: GlobalOptions { get }
    /// The exit code of a failure (1; `job plan` uses 255, `run` 125).
    static var failureExitCode: Int32 { get }
    func execute(_ context: CLIContext) async throws
}

extension ClusterCommand {
    static var failureExitCode: Int32 { 1 }

    mutating func run() async throws {
        let context: CLIContext
        do {
            context = try global.context()
        } catch {
            throw Failure.report(error, address: nil, exitCode: Self.failureExitCode)
        }
        defer { context.connection.close() }
        do {
            try await execute(context)
        } catch {
            throw Failure.report(error, address: "\(context.address)", tls: context.tls, exitCode: Self.failureExitCode)
        }
    }
}

/// Turns errors into the message a user reads.
enum Failure {
    /// Prints `error` as "Error: …" on stderr; returns the exit to throw.
    static func report(_ error: any Error, address: String?, tls: Bool = false, exitCode: Int32) -> any Error {
        if let exit = error as? ExitCode { return exit }
        if error is CancellationError { return ExitCode(130) }
        let (message, code) = describe(error, address: address, tls: tls, exitCode: exitCode)
        Console.error("Error: " + message)
        return ExitCode(code)
    }

    static func describe(_ error: any Error, address: String?, tls: Bool = false, exitCode: Int32) -> (String, Int32) {
        let at = address.map { " at \($0)" } ?? ""
        if let cli = error as? CLIError { return (cli.description, cli.exitCode ?? exitCode) }
        if let spec = error as? JobSpecError { return (spec.description, exitCode) }
        if let failure = error as? CallFailure ?? CallFailure(error) {
            switch failure.kind {
            case .unreachable:
                let text = failure.message.lowercased()
                let hint: String
                if !tls && (text.contains("preface") || text.contains("closed the connection")) {
                    hint = "The server may require mutual TLS: give --ca-cert, --client-cert and --client-key (or CARAVAN_CACERT, CARAVAN_CLIENT_CERT, CARAVAN_CLIENT_KEY)."
                } else if text.contains("does not use tls") {
                    hint = "Leave out --ca-cert, --client-cert and --client-key (and CARAVAN_CACERT, ...) for a plaintext server."
                } else if tls && text.contains("tls") {
                    hint = "Check that --ca-cert is the cluster CA that signed the server's certificate, and --region the region it names."
                } else {
                    hint = "Is a server running there? Point --address (or CARAVAN_ADDR) at a server's gRPC address, host:port."
                }
                return ("cannot reach a Caravan server\(at): \(failure.message)\n  " + hint, exitCode)
            case .unavailable:
                return ("the server\(at) cannot serve the request now: \(failure.message)", exitCode)
            case .invalidRequest, .notFound:
                return (failure.message, exitCode)
            case .unsupported:
                return ("the server\(at) does not offer this call (\(failure.message)): is it an older caravand?", exitCode)
            case .denied:
                return ("the server\(at) refused the request: \(failure.message)\n"
                    + "  Use a CLI certificate (`caravan tls cert create --cli`) with --client-cert and --client-key.", exitCode)
            case .timedOut:
                return ("the server\(at) did not answer in time: \(failure.message)", exitCode)
            case .other:
                return ("the server\(at) failed the request: \(failure.message)", exitCode)
            }
        }
        return ("\(error)", exitCode)
    }
}
