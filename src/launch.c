/* launch: starts a task's process without waiting for it to exec; see launch.h. */

#include "launch.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"

enum { STAGE_NONE, STAGE_DIR, STAGE_EXEC };

/* The interpreter a script names on its #! line, into out (empty when file, a path relative to
 * dir unless absolute, is no such script). */
static void interpreter_of(const char *file, const char *dir, char *out, size_t n)
{
    out[0] = '\0';
    char path[4096], head[256];
    if (snprintf(path, sizeof path, "%s%s%s", file[0] == '/' ? "" : dir,
                 file[0] == '/' ? "" : "/", file) >= (int)sizeof path)
        return;
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t got = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[got] = '\0';
    if (got < 3 || head[0] != '#' || head[1] != '!') return;
    const char *p = head + 2;
    while (*p == ' ' || *p == '\t') p++;
    size_t len = strcspn(p, " \t\r\n");
    if (len && len < n) snprintf(out, n, "%.*s", (int)len, p);
    if (access(out, F_OK) == 0) out[0] = '\0'; /* it is there: the ENOENT is of another */
}

static int failure(const char *file, const char *dir, int stage, int err, char *why, size_t n)
{
    char interp[256];
    if (stage != STAGE_DIR && err == ENOENT && strchr(file, '/'))
        interpreter_of(file, dir, interp, sizeof interp);
    else
        interp[0] = '\0';
    if (stage == STAGE_DIR)
        snprintf(why, n, "cannot start %s: working directory %s: %s", file, dir, strerror(err));
    else if (interp[0]) /* the script is there: what is missing is the program its #! names */
        snprintf(why, n, "cannot start %s: its interpreter %s (its #! line) does not exist", file,
                 interp);
    else
        snprintf(why, n, "cannot start %s: %s", file, strerror(err));
    return -err;
}

/* posix_spawn, which returns once the process has exec'd (or failed to) */
static pid_t start_waiting(const struct launch_req *req, char *why, size_t whylen)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (int i = 0; i < 4; i++) posix_spawn_file_actions_adddup2(&fa, req->fds[i], i);
    posix_spawn_file_actions_addclosefrom_np(&fa, 4);
    posix_spawn_file_actions_addchdir_np(&fa, req->dir);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int err = strchr(req->file, '/') ? posix_spawn(&pid, req->file, &fa, &at, req->argv, req->env)
                                     : posix_spawnp(&pid, req->file, &fa, &at, req->argv, req->env);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    if (err) {
        bool dir = err == ENOENT && access(req->dir, X_OK) != 0;
        return failure(req->file, req->dir, dir ? STAGE_DIR : STAGE_EXEC, err, why, whylen);
    }
    return pid;
}

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__)) &&                   \
    !defined(LAUNCH_POSIX_SPAWN) /* the tests' choice of the other way */
#define CLONED 1

#include <linux/sched.h> /* struct clone_args, CLONE_CLEAR_SIGHAND */
#include <sched.h>
#include <sys/syscall.h>

#define STACK_BYTES 16384

struct launch {
    volatile int stage; /* written by the process when it cannot exec: STAGE_DIR or STAGE_EXEC */
    volatile int err;   /* and the errno of the call that failed */
    bool cleared;       /* the kernel reset the handlers (CLONE_CLEAR_SIGHAND) */
    uint64_t ignored;   /* then the signals left to reset: those sked ignores (bit sig - 1) */
    int fds[4];
    long fd_limit;      /* fds to close one by one where the kernel has no close_range */
    char *file, *dir, *path; /* path: the directories to search, or NULL when file holds a '/' */
    size_t flen;             /* strlen(file) */
    char **argv, **env;
    unsigned char *stack_top;
    struct launch *next;     /* among the kept ones */
};

/* The process shares sked's memory and its thread's TLS until it execs, so it calls nothing
 * that could touch either: no libc function (they set errno, the sanitizers' ones keep
 * per-thread state), only system calls made here, and no instrumentation. */
#define CHILD __attribute__((no_sanitize("address", "undefined"))) static inline

#if defined(__x86_64__)
CHILD long sys4(long n, long a, long b, long c, long d)
{
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}
#else
CHILD long sys4(long n, long a, long b, long c, long d)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
    return x0;
}
#endif

CHILD _Noreturn void child_fail(struct launch *l, int stage, long err)
{
    l->err = (int)err;
    l->stage = stage;
    for (;;) sys4(SYS_exit, 127, 0, 0, 0);
}

/* execve of l->file in each directory of l->path, as execvp searches: a directory where it is
 * not (or not a directory) is passed over, one where it may not be run is remembered. */
CHILD _Noreturn void child_search(struct launch *l)
{
    char buf[4096];
    bool denied = false;
    size_t flen = l->flen;
    for (const char *p = l->path;;) {
        const char *q = p;
        while (*q && *q != ':') q++;
        size_t dlen = (size_t)(q - p);
        if (dlen + flen + 2 <= sizeof buf) {
            /* volatile: a loop the compiler turned into memcpy would call the sanitizers' */
            volatile char *b = buf;
            size_t k = 0;
            for (size_t i = 0; i < dlen; i++) b[k++] = p[i];
            if (dlen) b[k++] = '/'; /* an empty entry is the working directory */
            for (size_t i = 0; i <= flen; i++) b[k++] = l->file[i];
            long r = sys4(SYS_execve, (long)buf, (long)l->argv, (long)l->env, 0);
            if (r == -EACCES)
                denied = true;
            else if (r != -ENOENT && r != -ENOTDIR && r != -ESTALE && r != -ENODEV &&
                     r != -ETIMEDOUT)
                child_fail(l, STAGE_EXEC, -r);
        }
        if (!*q) break;
        p = q + 1;
    }
    child_fail(l, STAGE_EXEC, denied ? EACCES : ENOENT);
}

__attribute__((no_sanitize("address", "undefined"))) static int child(void *arg)
{
    struct launch *l = arg;
    /* With CLONE_CLEAR_SIGHAND the kernel reset the handlers: only the ignored ones are left to
     * reset, and a signal that comes first has its default effect. Without it every signal
     * arrives blocked (launch_start blocks them around the clone): each gets its default
     * disposition before they are unblocked, so none runs one of sked's handlers here. */
    long dfl[4] = {0, 0, 0, 0}; /* the kernel's sigaction: SIG_DFL, no flags, no mask */
    for (long sig = 1; sig <= 64; sig++)
        if (sig != SIGKILL && sig != SIGSTOP && (!l->cleared || (l->ignored >> (sig - 1) & 1)))
            sys4(SYS_rt_sigaction, sig, (long)dfl, 0, 8);
    /* a process group, not a session: group signals reach the same processes, and on kernels
     * with autogroup scheduling every new session costs a scheduler group (B5: 16 %) */
    sys4(SYS_setpgid, 0, 0, 0, 0);
    for (long i = 0; i < 4; i++) sys4(SYS_dup3, l->fds[i], i, 0, 0);
    if (sys4(SYS_close_range, 4, ~0U, 0, 0) < 0) /* kernels before 5.9 */
        for (long fd = 4; fd < l->fd_limit; fd++) sys4(SYS_close, fd, 0, 0, 0);
    long r = sys4(SYS_chdir, (long)l->dir, 0, 0, 0);
    if (r < 0) child_fail(l, STAGE_DIR, -r);
    long none = 0;
    sys4(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, 8);
    if (!l->path) {
        r = sys4(SYS_execve, (long)l->file, (long)l->argv, (long)l->env, 0);
        child_fail(l, STAGE_EXEC, -r);
    }
    child_search(l);
}

#if defined(__x86_64__) && defined(SYS_clone3) && defined(CLONE_CLEAR_SIGHAND)
#define CLONE3 1
/* clone3 with the process starting fn(arg) on the stack args names, and exiting with what fn
 * returns: the child's half cannot return through C code, its stack is not the caller's. */
static long clone3_run(struct clone_args *args, int (*fn)(void *), void *arg)
{
    long ret;
    register long r8 __asm__("r8") = (long)fn;
    register long r9 __asm__("r9") = (long)arg;
    __asm__ volatile("syscall\n\t"
                     "testq %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xorl %%ebp, %%ebp\n\t" /* the outermost frame */
                     "movq %%r9, %%rdi\n\t"
                     "callq *%%r8\n\t"
                     "movl %%eax, %%edi\n\t"
                     "2: movl %[exit], %%eax\n\t"
                     "syscall\n\t"
                     "jmp 2b\n\t"
                     "1:"
                     : "=a"(ret)
                     : "a"((long)SYS_clone3), "D"(args), "S"(sizeof *args), "r"(r8), "r"(r9),
                       [exit] "i"(SYS_exit)
                     : "rcx", "r11", "memory", "cc");
    return ret;
}

/* The signals sked ignores (bit sig - 1): SIGPIPE and what it inherited ignored, all set before
 * its first task starts (nothing in sked ignores a signal later). */
static uint64_t ignored_signals(void)
{
    static bool read;
    static uint64_t mask;
    if (!read) {
        for (int sig = 1; sig <= 64; sig++) {
            struct sigaction sa;
            if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0 &&
                !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN)
                mask |= UINT64_C(1) << (sig - 1);
        }
        read = true;
    }
    return mask | UINT64_C(1) << (SIGPIPE - 1);
}
#endif

static size_t strv_len(char *const *v, size_t *bytes)
{
    size_t n = 0;
    for (; v[n]; n++) *bytes += strlen(v[n]) + 1;
    return n;
}

/* Copies v's strings to *data and their pointers to out. */
static void strv_copy(char *const *v, size_t n, char **out, char **data)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        out[i] = memcpy(*data, v[i], len);
        *data += len;
    }
    out[n] = NULL;
}

static char *str_copy(const char *s, char **data)
{
    size_t len = strlen(s) + 1;
    char *d = memcpy(*data, s, len);
    *data += len;
    return d;
}

static pid_t start_cloned(const struct launch_req *req, struct launch **out, char *why,
                          size_t whylen)
{
    const char *path = NULL;
    if (!strchr(req->file, '/')) {
        path = getenv("PATH");
        if (!path) path = "/bin:/usr/bin"; /* execvp's default */
    }
    size_t bytes = strlen(req->file) + strlen(req->dir) + 2 + (path ? strlen(path) + 1 : 0);
    size_t argc = strv_len(req->argv, &bytes), envc = strv_len(req->env, &bytes);
    size_t ptrs = (argc + envc + 2) * sizeof(char *);
    struct launch *l = xmalloc(sizeof *l + ptrs + bytes + STACK_BYTES + 16);
    memset(l, 0, sizeof *l);
    l->argv = (char **)(l + 1);
    l->env = l->argv + argc + 1;
    char *data = (char *)(l->env + envc + 1);
    strv_copy(req->argv, argc, l->argv, &data);
    strv_copy(req->env, envc, l->env, &data);
    l->file = str_copy(req->file, &data);
    l->flen = strlen(l->file);
    l->dir = str_copy(req->dir, &data);
    l->path = path ? str_copy(path, &data) : NULL;
    l->stack_top = (unsigned char *)(((uintptr_t)data + STACK_BYTES + 15) & ~(uintptr_t)15);
    memcpy(l->fds, req->fds, sizeof l->fds);
    static long fd_limit;
    if (!fd_limit) fd_limit = sysconf(_SC_OPEN_MAX);
    l->fd_limit = fd_limit;

    pid_t pid = -1;
    int err = 0;
#ifdef CLONE3
    /* the kernel resets every handler, instead of the process's 62 calls: 9 us of CPU a task;
     * kernels before 5.5 (or a seccomp filter) refuse it, and the process resets them itself */
    static bool no_clone3;
    if (!no_clone3) {
        l->cleared = true;
        l->ignored = ignored_signals();
        struct clone_args ca = {.flags = CLONE_VM | CLONE_CLEAR_SIGHAND,
                                .exit_signal = SIGCHLD,
                                .stack = (uintptr_t)(l->stack_top - STACK_BYTES),
                                .stack_size = STACK_BYTES};
        long r = clone3_run(&ca, child, l);
        if (r >= 0)
            pid = (pid_t)r;
        else if (r == -ENOSYS || r == -EINVAL || r == -EPERM)
            no_clone3 = true;
        else
            err = (int)-r;
    }
    if (no_clone3)
#endif
    {
        /* the process keeps sked's handlers until it resets them: no signal may run one there */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        l->cleared = false;
        pid = clone(child, l->stack_top, CLONE_VM | SIGCHLD, l);
        err = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (pid < 0) {
        free(l);
        return failure(req->file, req->dir, STAGE_EXEC, err, why, whylen);
    }
    *out = l;
    return pid;
}

#endif

pid_t launch_start(const struct launch_req *req, struct launch **out, char *why, size_t whylen)
{
    *out = NULL;
#ifdef CLONED
    /* valgrind cannot follow a process that shares memory without vfork's wait: under it
     * (its preloaded library gives it away), wait as posix_spawn does */
    static int cloned = -1;
    if (cloned < 0) {
        const char *pre = getenv("LD_PRELOAD");
        cloned = !(pre && strstr(pre, "/vgpreload_"));
    }
    if (cloned) return start_cloned(req, out, why, whylen);
#endif
    return start_waiting(req, why, whylen);
}

int launch_failed(const struct launch *l, char *why, size_t whylen)
{
#ifdef CLONED
    if (l && l->stage != STAGE_NONE) return failure(l->file, l->dir, l->stage, l->err, why, whylen);
#endif
    (void)l, (void)why, (void)whylen;
    return 0;
}

void launch_end(struct launch *l, bool reaped)
{
#ifdef CLONED
    static struct launch *kept;
    if (!l) return;
    if (reaped) {
        free(l);
    } else {
        l->next = kept;
        kept = l;
    }
#endif
    (void)l, (void)reaped;
}
