/* launch: starts a task's process without waiting for it to exec.
 *
 * posix_spawn returns only once the new process has exec'd (or failed to): the caller waits
 * through the child's file actions and the first part of its exec, 130-150 µs on the machines of
 * docs/benchmarks.md, during which sked's loop serves nothing. launch_start creates the process
 * in sked's address space on a stack of its own (as posix_spawn does) and returns at once; the
 * process reads what it needs from a block the caller keeps until it has reaped the process, and
 * writes there why it could not exec, so that the failure is known at the reap. That block
 * (the process's 16 KB stack and a copy of its argv and environment) is held for as long as the
 * process runs, since sked cannot tell when it has exec'd.
 *
 * On x86_64 the kernel resets sked's signal handlers in the new process (clone3 with
 * CLONE_CLEAR_SIGHAND, where the kernel has it); the process resets the signals sked ignores,
 * as read at the first launch: sked ignores none after it starts.
 *
 * On architectures without the raw system calls launch.c makes (it has them for x86_64 and
 * aarch64), and under valgrind (which cannot follow such a process), launch_start is
 * posix_spawn and reports a failure at once instead. Only one thread launches (the loop). */
#ifndef SKED_LAUNCH_H
#define SKED_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct launch;

struct launch_req {
    const char *file;  /* run as is when it holds a '/', else searched in sked's PATH */
    char *const *argv; /* NULL-terminated */
    char *const *env;  /* NULL-terminated */
    int fds[4];        /* become the process's fds 0-3; none of them is among 0-3 */
    const char *dir;   /* working directory, relative paths (file included) against it */
};

/* Starts the process: fds 0-3 as asked and every other fd closed, a process group of its own,
 * every signal's disposition reset and none blocked, in dir. Copies what req points to. Returns
 * the pid and sets *out (NULL when there is nothing to keep), to keep until the process is
 * reaped (launch_end); or returns -errno with the reason ("cannot start FILE: ...") in why. */
pid_t launch_start(const struct launch_req *req, struct launch **out, char *why, size_t whylen);

/* Once the process was reaped: 0 if it exec'd, else -errno with the reason in why. */
int launch_failed(const struct launch *l, char *why, size_t whylen);

/* Gives l back. reaped false: the process may not have exec'd yet and may still read l, which
 * is then kept for the life of sked. */
void launch_end(struct launch *l, bool reaped);

#endif
