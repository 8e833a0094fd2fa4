import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What starts an exec task, waits for it and records its exit status in the
/// task's state directory (see `Supervisor/supervisor.c` for the protocol):
/// that static program where this architecture has it and its directory lets
/// it run, otherwise a `/bin/sh` script that does the same. Both leave the
/// same files, so either recovers the other's tasks.
///
/// The program starts with one exec and no dynamic linking: `sh` cost a
/// task about as much CPU as the task's own `/bin/true`.
enum ExecSupervisor: Sendable, Equatable {
    /// The installed program.
    case program(path: String)
    case shell

    /// The executable and arguments that run `command` with `arguments` under this supervisor.
    func invocation(stateDirectory: String, command: String, arguments: [String]) -> (executable: String, arguments: [String]) {
        switch self {
        case .program(let path): (path, [stateDirectory, command] + arguments)
        case .shell: ("/bin/sh", ["-c", Self.script, "caravan-exec", stateDirectory, command] + arguments)
        }
    }

    /// Installs the program as `directory/exec-supervisor`, replacing the one
    /// an earlier agent left (tasks it runs keep running). With no
    /// `directory`, in `caravan-exec-supervisor-<uid>/` under the temporary
    /// directory, named by its content, which every process of the user
    /// shares (a process may exit without removing what it installed); that
    /// directory must be the user's own and writable by no one else.
    /// Readable and executable by all: a task with a `user` runs it as that
    /// user. The shell when there is no program for this architecture or it
    /// cannot be written or run there.
    static func install(in directory: String?) -> ExecSupervisor {
        guard let encoded = embedded, let program = Data(base64Encoded: encoded) else { return .shell }
        let path: String
        if let directory {
            path = directory + "/exec-supervisor"
        } else {
            var temporary = NSTemporaryDirectory()
            while temporary.count > 1 && temporary.hasSuffix("/") { temporary.removeLast() }
            let home = "\(temporary)/caravan-exec-supervisor-\(getuid())"
            if mkdir(home, 0o755) == 0 { chmod(home, 0o755) }
            var owner = stat()
            guard lstat(home, &owner) == 0, owner.st_mode & S_IFMT == S_IFDIR, owner.st_uid == getuid(),
                  owner.st_mode & 0o022 == 0 else { return .shell }
            path = home + "/exec-supervisor-" + String(fnv1a(program), radix: 16)
            if FileManager.default.contents(atPath: path) == program, access(path, X_OK) == 0 { return .program(path: path) }
        }
        let staged = path + ".\(getpid()).\(UInt32.random(in: 0 ... .max))"
        var filesystem = statvfs()
        let noExec: UInt = 8  // ST_NOEXEC, which Glibc does not export to Swift
        let parent = (path as NSString).deletingLastPathComponent
        let installed = statvfs(parent, &filesystem) == 0 && filesystem.f_flag & noExec == 0
            && store(program, at: staged) && rename(staged, path) == 0
        guard installed else {
            unlink(staged)
            return .shell
        }
        return .program(path: path)
    }

    private static func fnv1a(_ bytes: Data) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    private static func store(_ bytes: Data, at path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard fd >= 0 else { return false }
        let complete = bytes.withUnsafeBytes { KernelFile.writeAll(fd, $0.baseAddress!, $0.count) }
        // The mode asked for at creation is masked by the umask.
        return close(fd) == 0 && complete && chmod(path, 0o755) == 0
    }

    private static var embedded: String? {
        #if os(Linux) && arch(x86_64)
        x86_64
        #elseif os(Linux) && arch(arm64)
        aarch64
        #else
        nil
        #endif
    }

    /// What the program does, in `sh`: `$1` is the state directory, the rest the command.
    /// A task with a user runs through util-linux's `setpriv`, which the shell needs then.
    static let script = #"""
        d=$1; shift
        exec 3<>"$d/stdout.fifo" 4<>"$d/stderr.fifo" || exit 125
        while IFS= read -r line || exit 125; do
            case $line in
            go) break ;;
            "join "*) { echo 0 >"${line#join }"; } 2>/dev/null || { echo "join 0 ${line#join }" >"$d/error"; exit 125; } ;;
            "user "*)
                u=${line#user }; g=${u#* }; u=${u%% *}
                case "$u:$g" in *[!0-9:]*|:*|*:) exit 125 ;; esac
                [ "$line" = "user $u $g" ] || exit 125
                command -v setpriv >/dev/null || { echo "user 0 $u $g" >"$d/error"; exit 125; }
                set -- setpriv --reuid="$u" --regid="$g" --groups="$g" -- "$@" ;;
            *) exit 125 ;;
            esac
        done
        trap : TERM INT QUIT HUP USR1 USR2
        "$@" </dev/null >"$d/stdout.fifo" 2>"$d/stderr.fifo" 3>&- 4>&-
        s=$?
        echo "$s" >"$d/exit"
        exit "$s"
        """#
}
