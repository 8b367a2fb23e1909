/* Raw ceiling of child-process jobs: how many processes per second a pool with P slots can start
 * with posix_spawn and reap with waitpid.
 *
 * Keeps up to P children of PROG in flight, reaps with waitpid(-1), refills at once, for SECONDS.
 * The children's stdout and stderr go to a log file opened with O_APPEND, as a job system that
 * keeps run logs does. sked's runs of /bin/true (B1, B5) pay this cost plus their own: pipes for
 * stdin/stdout/stderr/status, reading them, and storing the run, so this is the ceiling they
 * approach, not a figure they can pass.
 *
 * usage: spawn_rate P SECONDS PROG LOG
 * prints: spawn P=.. runs=.. failed=.. secs=.. per_s=..
 */
#include <errno.h>
#include <fcntl.h>
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
  if (argc != 5) {
    fprintf(stderr, "usage: %s P SECONDS PROG LOG\n", argv[0]);
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
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, logfd, 1);
  posix_spawn_file_actions_adddup2(&fa, logfd, 2);

  long reaped = 0, failed = 0;
  int inflight = 0;
  double t0 = now(), t = t0;
  for (;;) {
    while (inflight < p && t - t0 < secs) {
      pid_t pid;
      int rc = posix_spawn(&pid, prog, &fa, NULL, cargv, environ);
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
    inflight--;
    reaped++;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failed++;
    t = now();
  }
  double el = t - t0;
  printf("spawn P=%d runs=%ld failed=%ld secs=%.3f per_s=%.0f\n", p, reaped, failed, el,
         (double)reaped / el);
  posix_spawn_file_actions_destroy(&fa);
  close(logfd);
  return failed ? 1 : 0;
}
