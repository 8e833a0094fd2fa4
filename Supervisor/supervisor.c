// The exec driver's task supervisor: a static program without libc, so that
// starting it costs one exec and no dynamic linking.
//
//   supervisor STATE_DIR COMMAND [ARG...]
//
// 1. Opens STATE_DIR/stdout.fifo and STATE_DIR/stderr.fifo read-write and
//    keeps them open: the pipes keep a reader while the client restarts.
// 2. Reads lines from standard input until "go":
//    - "join PATH": writes 0 to PATH, a cgroup v1 `tasks` file, which moves
//      this (single-threaded) process into that cgroup. A thread that moves
//      itself spares the kernel's global cgroup lock, whose synchronize_rcu
//      made moving a process by pid cost milliseconds. When it fails, writes
//      "join ERRNO PATH" to STATE_DIR/error and ends (125);
//    - "user UID GID": the task runs as that user and group (and that group
//      alone as its supplementary groups); the supervisor keeps the agent's;
//    - "go": goes on; the driver writes it once the supervisor is (or will
//      have put itself) in the task's cgroups;
//    - anything else, or end of input, ends it (125).
// 3. Blocks SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2 for itself:
//    signals sent to the task's process group reach the task, not this.
// 4. Runs COMMAND with standard input /dev/null and standard output and
//    error into the FIFOs, waits for it, writes its status (the shell's $?:
//    the exit code, or 128 + the signal) to STATE_DIR/exit, and exits with it.
//    When the task's process cannot take the user, it writes
//    "user ERRNO UID GID" to STATE_DIR/error and ends (125) without running it.
//
// Dropping privileges happens here, after an exec, because the process that
// spawns the supervisor is multi-threaded: glibc's setgroups/setgid/setuid
// between its clone and exec can wait forever on a thread the clone left behind.
//
// Regenerate the embedded binaries with scripts/generate-exec-supervisor.sh.

typedef unsigned long size_t;

#if defined(__x86_64__)
enum { SYS_read = 0, SYS_write = 1, SYS_close = 3, SYS_rt_sigprocmask = 14, SYS_clone = 56, SYS_execve = 59,
       SYS_wait4 = 61, SYS_setuid = 105, SYS_setgid = 106, SYS_setgroups = 116, SYS_exit_group = 231, SYS_openat = 257,
       SYS_dup3 = 292 };
static long sys(long n, long a, long b, long c, long d) {
    register long r10 __asm__("r10") = d;
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return r;
}
__asm__(".text\n.global _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call start\n hlt\n");
#elif defined(__aarch64__)
enum { SYS_read = 63, SYS_write = 64, SYS_close = 57, SYS_rt_sigprocmask = 135, SYS_clone = 220, SYS_execve = 221,
       SYS_wait4 = 260, SYS_setuid = 146, SYS_setgid = 144, SYS_setgroups = 159, SYS_exit_group = 94, SYS_openat = 56,
       SYS_dup3 = 24 };
static long sys(long n, long a, long b, long c, long d) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = 0;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
    return x0;
}
__asm__(".text\n.global _start\n_start:\n mov x29, #0\n mov x30, #0\n mov x0, sp\n bl start\n brk #0\n");
#else
#error "the exec supervisor knows x86_64 and aarch64"
#endif

enum { AT_FDCWD = -100, O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0100, O_TRUNC = 01000, O_CLOEXEC = 02000000,
       SIGCHLD = 17, EINTR = 4 };

static void quit(int code) {
    for (;;) sys(SYS_exit_group, code, 0, 0, 0);
}

/* `value` in decimal at `out` (room for 20 digits); the number of digits. */
static size_t decimal(char *out, unsigned long value) {
    char digits[20];
    size_t d = 0, n = 0;
    do { digits[d++] = (char)('0' + value % 10); value /= 10; } while (value > 0);
    while (d > 0) out[n++] = digits[--d];
    return n;
}

/* `directory` + "/" + `name`, in `out` (PATH_MAX); 0 when it does not fit. */
static int join(char *out, const char *directory, const char *name) {
    size_t n = 0;
    for (const char *p = directory; *p; p++) { if (n >= 4000) return 0; out[n++] = *p; }
    out[n++] = '/';
    for (const char *p = name; *p; p++) { if (n >= 4094) return 0; out[n++] = *p; }
    out[n] = 0;
    return 1;
}

static long open_at(const char *path, long flags, long mode) { return sys(SYS_openat, AT_FDCWD, (long)path, flags, mode); }

/* Writes `length` bytes of `text` to a new `path` (replacing it). */
static void put(const char *path, const char *text, size_t length) {
    long fd = open_at(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        sys(SYS_write, fd, (long)text, (long)length, 0);
        sys(SYS_close, fd, 0, 0, 0);
    }
}

/* Moves this process's only thread into the cgroup of the v1 `tasks` file; 0 or -errno. */
static long join_cgroup(const char *tasks) {
    long fd = open_at(tasks, O_WRONLY | O_CLOEXEC, 0);
    if (fd < 0) return fd;
    long r = sys(SYS_write, fd, (long)"0", 1, 0);
    sys(SYS_close, fd, 0, 0, 0);
    return r < 0 ? r : 0;
}

/* Records "WHAT ERRNO DETAIL" in `errorFile` (`error` negative), and ends. */
static void failed(const char *errorFile, const char *what, long error, const char *detail) {
    char text[4200];
    size_t n = 0;
    for (const char *p = what; *p; p++) text[n++] = *p;
    text[n++] = ' ';
    n += decimal(text + n, (unsigned long)-error);
    text[n++] = ' ';
    for (const char *p = detail; *p && n < sizeof text - 1; p++) text[n++] = *p;
    text[n++] = '\n';
    put(errorFile, text, n);
    quit(125);
}

/* The decimal number at `*text`, moving `*text` past it and one space; -1 when there is none. */
static long number(const char **text) {
    const char *p = *text;
    unsigned long value = 0;
    if (*p < '0' || *p > '9') return -1;
    while (*p >= '0' && *p <= '9') {
        value = value * 10 + (unsigned long)(*p++ - '0');
        if (value > 0xffffffffUL) return -1;
    }
    if (*p == ' ') p++;
    *text = p;
    return (long)value;
}

__attribute__((used)) void start(long *stack) {
    long argc = stack[0];
    char **argv = (char **)(stack + 1);
    char **envp = argv + argc + 1;
    if (argc < 3) quit(125);
    const char *directory = argv[1];
    char out[4096], err[4096], exitFile[4096], errorFile[4096];
    if (!join(out, directory, "stdout.fifo") || !join(err, directory, "stderr.fifo") || !join(exitFile, directory, "exit")
        || !join(errorFile, directory, "error"))
        quit(125);
    long keepOut = open_at(out, O_RDWR | O_CLOEXEC, 0);
    long keepErr = open_at(err, O_RDWR | O_CLOEXEC, 0);
    if (keepOut < 0 || keepErr < 0) quit(125);

    char input[8192];
    const char *user = 0; /* "UID GID", for the error file */
    long uid = -1, gid = -1;
    size_t filled = 0, next = 0;
    for (;;) {
        size_t end = next;
        while (end < filled && input[end] != '\n') end++;
        if (end == filled) {
            if (filled == sizeof input) quit(125);
            long r = sys(SYS_read, 0, (long)(input + filled), (long)(sizeof input - filled), 0);
            if (r == -EINTR) continue;
            if (r <= 0) quit(125);
            filled += (size_t)r;
            continue;
        }
        input[end] = 0;
        const char *line = input + next;
        next = end + 1;
        if (line[0] == 'g' && line[1] == 'o' && line[2] == 0) break;
        if (line[0] == 'j' && line[1] == 'o' && line[2] == 'i' && line[3] == 'n' && line[4] == ' ') {
            long r = join_cgroup(line + 5);
            if (r < 0) failed(errorFile, "join", r, line + 5);
            continue;
        }
        if (line[0] == 'u' && line[1] == 's' && line[2] == 'e' && line[3] == 'r' && line[4] == ' ') {
            const char *p = line + 5;
            user = p;
            uid = number(&p);
            gid = number(&p);
            if (uid < 0 || gid < 0 || *p != 0) quit(125);
            continue;
        }
        quit(125);
    }

    unsigned long blocked = 0, none = 0;
    const int signals[] = {15, 2, 3, 1, 10, 12}; /* TERM INT QUIT HUP USR1 USR2 */
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) blocked |= 1UL << (signals[i] - 1);
    sys(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, (long)&blocked, 0, 8);

    long pid = sys(SYS_clone, SIGCHLD, 0, 0, 0);
    if (pid < 0) quit(125);
    if (pid == 0) {
        sys(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&none, 0, 8);
        long in = open_at("/dev/null", O_RDONLY, 0);
        long o = open_at(out, O_WRONLY, 0);
        long e = open_at(err, O_WRONLY, 0);
        if (in < 0 || o < 0 || e < 0) quit(125);
        if (sys(SYS_dup3, in, 0, 0, 0) < 0 || sys(SYS_dup3, o, 1, 0, 0) < 0 || sys(SYS_dup3, e, 2, 0, 0) < 0) quit(125);
        if (in > 2) sys(SYS_close, in, 0, 0, 0);
        if (o > 2) sys(SYS_close, o, 0, 0, 0);
        if (e > 2) sys(SYS_close, e, 0, 0, 0);
        if (user) {
            /* The group before the user: a process that is no longer root cannot change its group. */
            unsigned int groups[1] = {(unsigned int)gid};
            long r = sys(SYS_setgroups, 1, (long)groups, 0, 0);
            if (r == 0) r = sys(SYS_setgid, gid, 0, 0, 0);
            if (r == 0) r = sys(SYS_setuid, uid, 0, 0, 0);
            if (r < 0) failed(errorFile, "user", r, user);
        }
        long r = sys(SYS_execve, (long)argv[2], (long)(argv + 2), (long)envp, 0);
        quit(r == -13 /* EACCES */ ? 126 : 127);
    }

    int status = 0;
    long r;
    do { r = sys(SYS_wait4, pid, (long)&status, 0, 0); } while (r == -EINTR);
    int code = r < 0 ? 125 : (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);

    char text[24];
    size_t n = decimal(text, (unsigned long)code);
    text[n++] = '\n';
    put(exitFile, text, n);
    quit(code);
}
