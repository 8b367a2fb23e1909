/*
 * test_launch: starting a task's process. The process must get exactly fds 0-3 (nothing else
 * sked holds), its own process group, default signal dispositions and an empty signal mask
 * whatever sked set for itself, and its working directory; a program that cannot be started
 * must be reported with the reason, whether the failure shows at once (posix_spawn) or only
 * once the process is reaped (the launch that does not wait for the exec). This file is built
 * twice: against the core, and with launch.c's posix_spawn variant (LAUNCH_POSIX_SPAWN).
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch.h"

struct result {
    pid_t pid;
    int failed; /* -errno when the program could not be started */
    int status;
    char why[512];
    char out[4096], err[512], st[512]; /* what it wrote to fds 1, 2 and 3 */
};

/* A pipe with both ends above fd 3 and close-on-exec, as the worker makes them. */
static void pipe_above3(int p[2])
{
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    for (int i = 0; i < 2; i++) {
        int h = fcntl(p[i], F_DUPFD_CLOEXEC, 10);
        assert_true(h >= 10);
        close(p[i]);
        p[i] = h;
    }
}

static void read_all(int fd, char *to, size_t cap)
{
    size_t n = 0;
    ssize_t k;
    while ((k = read(fd, to + n, cap - 1 - n)) > 0) n += (size_t)k;
    to[n] = '\0';
    close(fd);
}

/* "LEAK=N": a descriptor of the test's own, without close-on-exec, that no task may get */
static char leak_env[32] = "LEAK=";

/* Starts file with argv in dir, with "in" on its stdin, and reaps it. */
static void run(const char *file, char *const argv[], const char *dir, const char *in,
                struct result *r)
{
    memset(r, 0, sizeof *r);
    int pin[2], pout[2], perr[2], pst[2];
    pipe_above3(pin);
    pipe_above3(pout);
    pipe_above3(perr);
    pipe_above3(pst);
    char *env[] = {"X=from the environment", leak_env, NULL};
    struct launch_req req = {file, argv, env, {pin[0], pout[1], perr[1], pst[1]}, dir};
    struct launch *l = NULL;
    r->pid = launch_start(&req, &l, r->why, sizeof r->why);
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    close(pst[1]);
    if (r->pid < 0) {
        r->failed = r->pid;
        close(pin[1]);
        close(pout[0]);
        close(perr[0]);
        close(pst[0]);
        return;
    }
    signal(SIGPIPE, SIG_IGN); /* a process that fails to start reads nothing */
    if (write(pin[1], in, strlen(in)) < 0) assert_int_equal(errno, EPIPE);
    close(pin[1]);
    read_all(pout[0], r->out, sizeof r->out);
    read_all(perr[0], r->err, sizeof r->err);
    read_all(pst[0], r->st, sizeof r->st);
    assert_int_equal(waitpid(r->pid, &r->status, 0), r->pid);
    r->failed = launch_failed(l, r->why, sizeof r->why);
    launch_end(l, true);
}

static void on_usr1(int sig)
{
    (void)sig;
}

static void test_process_setup(void **state)
{
    (void)state;
    /* what sked does to itself must not reach the task: an ignored signal, a handler, a
     * blocked signal, an inherited descriptor without close-on-exec */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* as under nohup */
    signal(SIGUSR1, on_usr1);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    int leak = fcntl(1, F_DUPFD, 20);
    assert_true(leak >= 20);
    snprintf(leak_env, sizeof leak_env, "LEAK=%d", leak);
    char *const argv[] = {"sh", "-c",
                          "read -r line; echo \"in=$line\"; pwd; echo \"x=$X\"; "
                          "set -- $(cat /proc/$$/stat); echo \"group $1 $5\"; "
                          "[ -e /proc/$$/fd/$LEAK ] && echo leaked; "
                          "echo to-stderr >&2; echo to-fd3 >&3",
                          NULL};
    struct result r;
    run("/bin/sh", argv, "/usr", "hello\n", &r);
    close(leak);
    assert_int_equal(r.failed, 0);
    assert_true(WIFEXITED(r.status));
    assert_contains(r.out, "in=hello\n/usr\nx=from the environment\n");
    char group[64];
    snprintf(group, sizeof group, "group %d %d\n", (int)r.pid, (int)r.pid);
    assert_contains(r.out, group);
    assert_null(strstr(r.out, "leaked"));
    assert_string_equal(r.err, "to-stderr\n");
    assert_string_equal(r.st, "to-fd3\n");

    /* the signal state as a program that does not reset it sees it (a shell would) */
    char *const grep[] = {"grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status", NULL};
    run("grep", grep, "/", "", &r);
    assert_int_equal(r.failed, 0);
    assert_contains(r.out, "SigBlk:\t0000000000000000\n");
    /* glibc's posix_spawn leaves its two internal signals (32, 33) ignored; nothing else */
    const char *ign = strstr(r.out, "SigIgn:\t");
    assert_non_null(ign);
    assert_int_equal(strtoull(ign + 8, NULL, 16) & ~(UINT64_C(3) << 31), 0);
    sigprocmask(SIG_UNBLOCK, &usr2, NULL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
}

static void test_cannot_start(void **state)
{
    (void)state;
    char exe[] = "/tmp/sked-test-launch-XXXXXX";
    int fd = mkstemp(exe);
    assert_true(fd >= 0);
    close(fd);
    chmod(exe, 0644);
    struct {
        const char *file, *dir, *why;
    } cases[] = {
        {"/nonexistent/prog", "/", "cannot start /nonexistent/prog: No such file or directory"},
        {exe, "/", NULL}, /* "cannot start EXE: Permission denied" */
        {"sked-test-no-such-program", "/",
         "cannot start sked-test-no-such-program: No such file or directory"},
        {"/bin/true", "/nonexistent-dir",
         "cannot start /bin/true: working directory /nonexistent-dir: No such file or "
         "directory"},
    };
    char denied[600];
    snprintf(denied, sizeof denied, "cannot start %s: Permission denied", exe);
    cases[1].why = denied;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *const argv[] = {(char *)cases[i].file, NULL};
        struct result r;
        run(cases[i].file, argv, cases[i].dir, "", &r);
        assert_true(r.failed < 0);
        assert_string_equal(r.why, cases[i].why);
    }
    unlink(exe);
}

/* A name without '/' is searched in sked's PATH as execvp does: a directory where it may not
 * be run is passed over for a later one, and is the reason when no later one has it. */
static void test_path_search(void **state)
{
    (void)state;
    char a[] = "/tmp/sked-test-path-a-XXXXXX", b[] = "/tmp/sked-test-path-b-XXXXXX";
    assert_non_null(mkdtemp(a));
    assert_non_null(mkdtemp(b));
    char pa[128], pb[128], path[300];
    snprintf(pa, sizeof pa, "%s/prog", a);
    snprintf(pb, sizeof pb, "%s/prog", b);
    FILE *f = fopen(pa, "w");
    fputs("#!/bin/sh\necho from a\n", f);
    fclose(f);
    chmod(pa, 0644); /* not executable */
    f = fopen(pb, "w");
    fputs("#!/bin/sh\necho from b\n", f);
    fclose(f);
    chmod(pb, 0755);
    char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    char *const argv[] = {"prog", NULL};
    struct result r;

    snprintf(path, sizeof path, "/nonexistent:%s:%s", a, b);
    setenv("PATH", path, 1);
    run("prog", argv, "/", "", &r);
    assert_int_equal(r.failed, 0);
    assert_string_equal(r.out, "from b\n");

    snprintf(path, sizeof path, "%s:/nonexistent", a);
    setenv("PATH", path, 1);
    run("prog", argv, "/", "", &r);
    assert_int_equal(r.failed, -EACCES);
    assert_string_equal(r.why, "cannot start prog: Permission denied");

    if (saved) setenv("PATH", saved, 1);
    free(saved);
    unlink(pa);
    unlink(pb);
    rmdir(a);
    rmdir(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_process_setup),
        cmocka_unit_test(test_cannot_start),
        cmocka_unit_test(test_path_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
