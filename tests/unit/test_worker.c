/*
 * test_worker: finding the processes a task left running. At a task's end, a process of
 * another session that still holds one of its pipes is killed; sked's own children are not,
 * though they hold copies of every descriptor sked has until their exec (a task that starts
 * while another ends), these pipes among them.
 */
#include "unit.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"

/* Whether pid is gone (or a zombie no one has reaped yet). */
static bool gone(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *end = strrchr(buf, ')');
    return end && end[1] == ' ' && end[2] == 'Z';
}

static void test_a_holder_of_the_pipes_is_killed_but_not_a_child_of_sked(void **state)
{
    (void)state;
    int p[2], tell[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pipe(tell), 0);
    struct stat st;
    assert_int_equal(fstat(p[0], &st), 0);
    /* a child of ours holding the write end: a task's process before its exec */
    pid_t own = fork();
    assert_true(own >= 0);
    if (own == 0) {
        for (;;) pause();
    }
    /* one whose parent exits at once, holding it too: what a task's daemon is */
    pid_t mid = fork();
    assert_true(mid >= 0);
    if (mid == 0) {
        pid_t escaped = fork();
        if (escaped == 0) {
            for (;;) pause();
        }
        if (write(tell[1], &escaped, sizeof escaped) != (ssize_t)sizeof escaped) _exit(1);
        _exit(0);
    }
    pid_t escaped = -1;
    assert_int_equal(read(tell[0], &escaped, sizeof escaped), (ssize_t)sizeof escaped);
    int ws;
    assert_int_equal(waitpid(mid, &ws, 0), mid);
    close(tell[0]);
    close(tell[1]);

    const char *id = "00000000-0000-4000-8000-000000000000"; /* in nobody's environment */
    ino_t ino = st.st_ino;
    assert_int_equal(worker_kill_orphans(&id, 1, &ino, 1, NULL, 0, 0), 1);
    for (int i = 0; i < 200 && !gone(escaped); i++) nanosleep(&(struct timespec){0, 10000000}, NULL);
    assert_true(gone(escaped));
    assert_int_equal(kill(own, 0), 0);
    assert_int_equal(waitpid(own, &ws, WNOHANG), 0);

    kill(own, SIGKILL);
    assert_int_equal(waitpid(own, &ws, 0), own);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_holder_of_the_pipes_is_killed_but_not_a_child_of_sked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
