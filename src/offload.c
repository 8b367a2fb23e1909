/* offload: a thread pool whose completions return to the event loop; see offload.h. */
#include "offload.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/xalloc.h"

struct item {
    offload_work_fn work;
    offload_done_fn done;
    void *arg;
    struct item *next;
};

struct offload {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct item *todo, *todo_tail; /* waiting for a thread */
    struct item *finished;         /* waiting for the loop */
    pthread_t *threads;
    int nthreads;
    bool stopping;
    int pending;
    int efd; /* eventfd: a thread finished something */
    struct event *ev;
};

static void *thread_main(void *arg)
{
    struct offload *o = arg;
    pthread_mutex_lock(&o->lock);
    for (;;) {
        while (!o->todo && !o->stopping) pthread_cond_wait(&o->cond, &o->lock);
        if (!o->todo) break;
        struct item *it = o->todo;
        o->todo = it->next;
        if (!o->todo) o->todo_tail = NULL;
        pthread_mutex_unlock(&o->lock);
        it->work(it->arg);
        pthread_mutex_lock(&o->lock);
        it->next = o->finished;
        o->finished = it;
        uint64_t one = 1;
        ssize_t w = write(o->efd, &one, sizeof one);
        (void)w; /* the counter cannot overflow in practice; a wake-up is all that matters */
    }
    pthread_mutex_unlock(&o->lock);
    return NULL;
}

/* Runs the done() of finished items, oldest first. */
static void run_finished(struct offload *o)
{
    pthread_mutex_lock(&o->lock);
    struct item *list = o->finished;
    o->finished = NULL;
    pthread_mutex_unlock(&o->lock);
    struct item *rev = NULL;
    while (list) {
        struct item *n = list->next;
        list->next = rev;
        rev = list;
        list = n;
    }
    while (rev) {
        struct item *n = rev->next;
        o->pending--;
        if (rev->done) rev->done(rev->arg);
        free(rev);
        rev = n;
    }
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
    run_finished(arg);
}

struct offload *offload_new(struct event_base *base, int threads)
{
    struct offload *o = xcalloc(1, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->cond, NULL);
    o->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (o->efd < 0) abort();
    o->ev = event_new(base, o->efd, EV_READ | EV_PERSIST, on_ready, o);
    event_add(o->ev, NULL);
    o->nthreads = threads > 0 ? threads : 1;
    o->threads = xcalloc((size_t)o->nthreads, sizeof *o->threads);
    for (int i = 0; i < o->nthreads; i++) pthread_create(&o->threads[i], NULL, thread_main, o);
    return o;
}

void offload_submit(struct offload *o, offload_work_fn work, offload_done_fn done, void *arg)
{
    struct item *it = xcalloc(1, sizeof *it);
    it->work = work;
    it->done = done;
    it->arg = arg;
    o->pending++;
    pthread_mutex_lock(&o->lock);
    if (o->todo_tail)
        o->todo_tail->next = it;
    else
        o->todo = it;
    o->todo_tail = it;
    pthread_cond_signal(&o->cond);
    pthread_mutex_unlock(&o->lock);
}

bool offload_skip(struct offload *o, void *arg)
{
    pthread_mutex_lock(&o->lock);
    struct item *prev = NULL, *it = o->todo;
    while (it && it->arg != arg) {
        prev = it;
        it = it->next;
    }
    if (it) {
        if (prev)
            prev->next = it->next;
        else
            o->todo = it->next;
        if (o->todo_tail == it) o->todo_tail = prev;
        it->next = o->finished;
        o->finished = it;
        uint64_t one = 1;
        ssize_t w = write(o->efd, &one, sizeof one);
        (void)w;
    }
    pthread_mutex_unlock(&o->lock);
    return it != NULL;
}

int offload_withdraw(struct offload *o, void (*drop)(void *arg))
{
    pthread_mutex_lock(&o->lock);
    struct item *list = o->todo;
    o->todo = o->todo_tail = NULL;
    pthread_mutex_unlock(&o->lock);
    int n = 0;
    while (list) {
        struct item *next = list->next;
        drop(list->arg);
        free(list);
        o->pending--;
        n++;
        list = next;
    }
    return n;
}

int offload_pending(const struct offload *o)
{
    return o->pending;
}

void offload_free(struct offload *o)
{
    if (!o) return;
    pthread_mutex_lock(&o->lock);
    o->stopping = true;
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->lock);
    for (int i = 0; i < o->nthreads; i++) pthread_join(o->threads[i], NULL);
    run_finished(o);
    event_free(o->ev);
    close(o->efd);
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->cond);
    free(o->threads);
    free(o);
}
