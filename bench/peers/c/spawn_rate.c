/* Raw ceiling of child-process jobs: how many processes per second a pool with P slots can start
 * with posix_spawn and reap with waitpid.
 *
 * Keeps up to P children of PROG in flight, reaps with waitpid(-1), refills at once, for SECONDS.
 * The children's stdout and stderr go to a log file opened with O_APPEND, as a job system that
 * keeps run logs does. sked's runs of /bin/true (B1, B5) pay this cost plus their own: pipes for
 * stdin/stdout/stderr/status, reading them, and storing the run, so this is the ceiling they
 * approach, not a figure they can pass.
 *
 * With SETUP "sked", each child is set up as sked sets up a task process instead, and nothing
 * else: four fresh pipes as its fds 0-3 (the parent's ends closed once it is reaped), every
 * other fd closed, a process group of its own, every signal's disposition reset and none
 * blocked, a working directory. Against the plain figure, that is what the child's setup alone costs.
 *
 * usage: spawn_rate P SECONDS PROG LOG [sked]
 * prints: spawn P=.. runs=.. failed=.. secs=.. per_s=..
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5 && !(argc == 6 && strcmp(argv[5], "sked") == 0)) {
    fprintf(stderr, "usage: %s P SECONDS PROG LOG [sked]\n", argv[0]);
    return 2;
  }
  int p = atoi(argv[1]);
  double secs = atof(argv[2]);
  char *prog = argv[3];
  char *cargv[] = {prog, NULL};
  if (p < 1 || secs <= 0) {
    fprintf(stderr, "P must be >= 1 and SECONDS > 0\n");
    return 2;
  }
  int logfd = open(argv[4], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (logfd < 0) {
    perror("open log");
    return 1;
  }
  int sked = argc == 6;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, logfd, 1);
  posix_spawn_file_actions_adddup2(&fa, logfd, 2);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  /* with SETUP sked: the children in flight and the parent's ends of their pipes */
  pid_t *pids = calloc((size_t)p, sizeof *pids);
  int(*ends)[4] = calloc((size_t)p, sizeof *ends);
  if (!pids || !ends) return 1;

  long reaped = 0, failed = 0;
  int inflight = 0;
  double t0 = now(), t = t0;
  for (;;) {
    while (inflight < p && t - t0 < secs) {
      pid_t pid;
      int rc;
      if (!sked) {
        rc = posix_spawn(&pid, prog, &fa, NULL, cargv, environ);
      } else {
        int slot = 0;
        while (pids[slot]) slot++;
        int child[4];
        posix_spawn_file_actions_t sfa;
        posix_spawnattr_t at;
        posix_spawn_file_actions_init(&sfa);
        posix_spawnattr_init(&at);
        for (int i = 0; i < 4; i++) {
          int pp[2];
          if (pipe2(pp, O_CLOEXEC) != 0) {
            perror("pipe2");
            return 1;
          }
          int parent = i == 0 ? pp[1] : pp[0];
          child[i] = i == 0 ? pp[0] : pp[1];
          fcntl(parent, F_SETFL, O_NONBLOCK);
          ends[slot][i] = parent;
          posix_spawn_file_actions_adddup2(&sfa, child[i], i);
        }
        posix_spawn_file_actions_addclosefrom_np(&sfa, 4);
        posix_spawn_file_actions_addchdir_np(&sfa, "/tmp");
        posix_spawnattr_setsigdefault(&at, &all);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setpgroup(&at, 0);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                          POSIX_SPAWN_SETSIGMASK);
        rc = posix_spawn(&pid, prog, &sfa, &at, cargv, environ);
        for (int i = 0; i < 4; i++) close(child[i]);
        posix_spawn_file_actions_destroy(&sfa);
        posix_spawnattr_destroy(&at);
        pids[slot] = pid;
      }
      if (rc != 0) {
        errno = rc;
        perror("posix_spawn");
        return 1;
      }
      inflight++;
    }
    if (inflight == 0) break;
    int st;
    pid_t w = waitpid(-1, &st, 0);
    if (w < 0) {
      if (errno == EINTR) continue;
      perror("waitpid");
      return 1;
    }
    for (int slot = 0; sked && slot < p; slot++) {
      if (pids[slot] != w) continue;
      for (int i = 0; i < 4; i++) close(ends[slot][i]);
      pids[slot] = 0;
    }
    inflight--;
    reaped++;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failed++;
    t = now();
  }
  double el = t - t0;
  printf("spawn P=%d runs=%ld failed=%ld secs=%.3f per_s=%.0f\n", p, reaped, failed, el,
         (double)reaped / el);
  posix_spawn_file_actions_destroy(&fa);
  free(pids);
  free(ends);
  close(logfd);
  return failed ? 1 : 0;
}
