/*
 * loadgen: submits runs to a sked server as fast as it answers - C threads, one keep-alive
 * connection each, one request in flight per connection - so the client is never the
 * bottleneck of a throughput measurement.
 *
 *   loadgen HOST PORT TOKEN JOB_ID COUNT [CONNECTIONS]
 *
 * Prints "submitted N in S s (R/s), errors E" on stdout; exits non-zero on any error.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host, *token, *job;
static int port;
static long per_thread;
static long errors;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_to(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(3);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Reads one response; returns its status code. */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, cap - have - 1);
        if (n <= 0) return -1;
        have += (size_t)n;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        char *cl = strcasestr(buf, "Content-Length:");
        size_t body = cl ? (size_t)atol(cl + 15) : 0;
        size_t total = (size_t)(end + 4 - buf) + body;
        while (have < total) {
            n = read(fd, buf + have, cap - have - 1);
            if (n <= 0) return -1;
            have += (size_t)n;
        }
        return atoi(buf + 9);
    }
}

static void *worker(void *arg)
{
    (void)arg;
    int fd = connect_to();
    char req[1024], buf[65536];
    const char *body = "{}";
    int len = snprintf(req, sizeof req,
                       "POST /api/jobs/%s/runs HTTP/1.1\r\nHost: %s:%d\r\n"
                       "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       job, host, port, token, strlen(body), body);
    long bad = 0;
    for (long i = 0; i < per_thread; i++) {
        if (write(fd, req, (size_t)len) != len) {
            bad++;
            break;
        }
        if (read_response(fd, buf, sizeof buf) != 201) bad++;
    }
    close(fd);
    pthread_mutex_lock(&lock);
    errors += bad;
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: loadgen HOST PORT TOKEN JOB_ID COUNT [CONNECTIONS]\n");
        return 2;
    }
    host = argv[1];
    port = atoi(argv[2]);
    token = argv[3];
    job = argv[4];
    long count = atol(argv[5]);
    int conns = argc > 6 ? atoi(argv[6]) : 1;
    per_thread = count / conns;
    pthread_t t[256];
    double start = now();
    for (int i = 0; i < conns && i < 256; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < conns && i < 256; i++) pthread_join(t[i], NULL);
    double secs = now() - start;
    long done = per_thread * conns;
    printf("submitted %ld in %.3f s (%.0f/s), errors %ld\n", done, secs, done / secs, errors);
    return errors ? 1 : 0;
}
