/* beanstalkd client for the peer benchmark: the plain text protocol, one request in flight per
 * connection, as ordinary clients (and sked's one-client workloads) do.
 *
 * usage: bs_bench PORT pool N W   1 producer putting N jobs one by one while W consumer
 *                                 processes reserve + delete them (each its own connection).
 *                                 End to end: N / (first put -> last delete). The consumers do
 *                                 no work, so this is the queue's own cost per job.
 *        bs_bench PORT lat K      K jobs put 100 ms apart while one consumer waits in reserve:
 *                                 put -> reserved latency, in ms (p50, p95, max).
 * Connects to 127.0.0.1 only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  char buf[65536];
  size_t len, off;
} conn;

/* CLOCK_MONOTONIC is one clock for every process of the machine, so a time taken in the
 * producer can be subtracted from one taken in a consumer process. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bs_connect(conn *c, int port) {
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) {
    perror("socket");
    exit(1);
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("connect");
    exit(1);
  }
  c->len = c->off = 0;
}

static void send_all(conn *c, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(c->fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      perror("write");
      exit(1);
    }
    p += w;
    n -= (size_t)w;
  }
}

static void send_str(conn *c, const char *s) { send_all(c, s, strlen(s)); }

/* read one CRLF-terminated line into out (without the CRLF) */
static void read_line(conn *c, char *out, size_t cap) {
  for (;;) {
    char *e = memmem(c->buf + c->off, c->len - c->off, "\r\n", 2);
    if (e) {
      size_t n = (size_t)(e - (c->buf + c->off));
      if (n >= cap) n = cap - 1;
      memcpy(out, c->buf + c->off, n);
      out[n] = 0;
      c->off = (size_t)(e - c->buf) + 2;
      return;
    }
    if (c->off > 0) {
      memmove(c->buf, c->buf + c->off, c->len - c->off);
      c->len -= c->off;
      c->off = 0;
    }
    ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      fprintf(stderr, "read: connection closed\n");
      exit(1);
    }
    c->len += (size_t)r;
  }
}

/* put BODY with priority 0, no delay, 60 s time to run; expect INSERTED */
static void put(conn *c, const char *body) {
  char cmd[256], line[128];
  int n = snprintf(cmd, sizeof cmd, "put 0 0 60 %zu\r\n%s\r\n", strlen(body), body);
  send_all(c, cmd, (size_t)n);
  read_line(c, line, sizeof line);
  if (strncmp(line, "INSERTED ", 9) != 0) {
    fprintf(stderr, "put: %s\n", line);
    exit(1);
  }
}

/* reserve one job (body into body), return its id */
static unsigned long long reserve(conn *c, char *body, size_t cap) {
  char line[256];
  unsigned long long id;
  unsigned bytes;
  send_str(c, "reserve-with-timeout 10\r\n");
  read_line(c, line, sizeof line);
  if (sscanf(line, "RESERVED %llu %u", &id, &bytes) != 2) {
    fprintf(stderr, "reserve: %s\n", line);
    exit(1);
  }
  read_line(c, body, cap);
  return id;
}

static void delete_job(conn *c, unsigned long long id) {
  char cmd[64], line[128];
  int n = snprintf(cmd, sizeof cmd, "delete %llu\r\n", id);
  send_all(c, cmd, (size_t)n);
  read_line(c, line, sizeof line);
  if (strcmp(line, "DELETED") != 0) {
    fprintf(stderr, "delete: %s\n", line);
    exit(1);
  }
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* nearest rank on the sorted v[0..n-1], as bench/benchlib.py's pct() */
static double pct(const double *v, int n, double p) {
  int k = (int)lround(p / 100.0 * (n - 1));
  return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static int latency(int port, int k) {
  int pfd[2];
  if (pipe(pfd) < 0) {
    perror("pipe");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) { /* consumer: reserve, take the put time from the body, delete */
    close(pfd[0]);
    conn c;
    bs_connect(&c, port);
    for (int i = 0; i < k; i++) {
      char body[256];
      unsigned long long id = reserve(&c, body, sizeof body);
      double ms = (now() - atof(body)) * 1000.0;
      if (write(pfd[1], &ms, sizeof ms) != (ssize_t)sizeof ms) _exit(1);
      delete_job(&c, id);
    }
    _exit(0);
  }
  close(pfd[1]);
  conn c;
  bs_connect(&c, port);
  struct timespec gap = {0, 100 * 1000 * 1000};
  nanosleep(&gap, NULL); /* let the consumer connect and block in reserve */
  for (int i = 0; i < k; i++) {
    char body[64];
    snprintf(body, sizeof body, "%.9f", now());
    put(&c, body);
    nanosleep(&gap, NULL);
  }
  double *v = calloc((size_t)k, sizeof *v);
  if (!v) return 1;
  int got = 0;
  while (got < k && read(pfd[0], &v[got], sizeof(double)) == (ssize_t)sizeof(double)) got++;
  waitpid(pid, NULL, 0);
  if (got < k) {
    fprintf(stderr, "only %d of %d jobs reserved\n", got, k);
    return 1;
  }
  qsort(v, (size_t)k, sizeof *v, cmpd);
  printf("beanstalkd-latency K=%d pickup_ms p50=%.3f p95=%.3f max=%.3f\n", k, pct(v, k, 50),
         pct(v, k, 95), v[k - 1]);
  free(v);
  return 0;
}

static int pool(int port, long n, int w) {
  static const char body[] = "{\"task\":\"noop\",\"args\":[]}";
  double t0 = now();
  for (int k = 0; k < w; k++) {
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0) {
      conn c;
      char buf[256];
      bs_connect(&c, port);
      long share = n / w + (k < n % w ? 1 : 0);
      for (long i = 0; i < share; i++) delete_job(&c, reserve(&c, buf, sizeof buf));
      _exit(0);
    }
  }
  conn c;
  bs_connect(&c, port);
  for (long i = 0; i < n; i++) put(&c, body);
  double tp = now();
  int st, bad = 0;
  while (wait(&st) > 0)
    if (!WIFEXITED(st) || WEXITSTATUS(st)) bad++;
  double t1 = now();
  if (bad) {
    fprintf(stderr, "%d consumers failed\n", bad);
    return 1;
  }
  printf("beanstalkd pool N=%ld W=%d put_per_s=%.0f jobs_per_s=%.0f\n", n, w,
         (double)n / (tp - t0), (double)n / (t1 - t0));
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[2], "lat") == 0) return latency(atoi(argv[1]), atoi(argv[3]));
  if (argc >= 5 && strcmp(argv[2], "pool") == 0)
    return pool(atoi(argv[1]), atol(argv[3]), atoi(argv[4]));
  fprintf(stderr, "usage: %s PORT pool N W | PORT lat K\n", argv[0]);
  return 2;
}
