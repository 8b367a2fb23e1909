/* sqlmem: SQLite's allocations with a per-thread cache of freed blocks; see sqlmem.h. */
#include "sqlmem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Every block starts with a header of HEAD bytes (SQLite wants 8-byte alignment) holding its
 * usable size; a cached block holds the next one of its class there instead (and only the rest
 * of it is poisoned). */
#define HEAD 16
#define UNIT 64          /* classes: blocks of 64, 128, ... bytes, header included */
#define CLASSES 40       /* up to 2,560 bytes */
#define KEEP_BYTES 262144 /* cached per thread at most */

struct cache {
    void *head[CLASSES];
    size_t bytes;
    bool registered; /* with the key whose destructor empties the cache at thread exit */
};
static _Thread_local struct cache tls;
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void empty(struct cache *c)
{
    for (size_t i = 0; i < CLASSES; i++)
        while (c->head[i]) {
            void *p = c->head[i];
            UNPOISON((char *)p + HEAD, (i + 1) * UNIT - HEAD);
            c->head[i] = *(void **)p;
            free(p);
        }
    c->bytes = 0;
}

static void on_thread_exit(void *arg)
{
    struct cache *c = arg;
    empty(c);
    c->registered = false; /* a later free registers again, for another round of destructors */
}

static void make_key(void)
{
    pthread_key_create(&exit_key, on_thread_exit);
}

/* The class of a block of `total` bytes, header included; CLASSES when too large to cache. */
static size_t class_of(size_t total)
{
    size_t c = (total - 1) / UNIT;
    return c < CLASSES ? c : CLASSES;
}

static void *mem_malloc(int n)
{
    size_t total = (size_t)(n > 0 ? n : 1) + HEAD, c = class_of(total);
    char *p = NULL;
    if (c < CLASSES && tls.head[c]) {
        p = tls.head[c];
        UNPOISON(p + HEAD, (c + 1) * UNIT - HEAD);
        tls.head[c] = *(void **)p;
        tls.bytes -= (c + 1) * UNIT;
    } else if (!(p = malloc(c < CLASSES ? (c + 1) * UNIT : total))) {
        return NULL;
    }
    *(size_t *)p = c < CLASSES ? (c + 1) * UNIT - HEAD : total - HEAD;
    return p + HEAD;
}

static void mem_free(void *q)
{
    if (!q) return;
    char *p = (char *)q - HEAD;
    size_t c = class_of(*(size_t *)p + HEAD), size = (c + 1) * UNIT;
    if (c == CLASSES || tls.bytes + size > KEEP_BYTES) {
        free(p);
        return;
    }
    if (!tls.registered) {
        pthread_once(&key_once, make_key);
        pthread_setspecific(exit_key, &tls);
        tls.registered = true;
    }
    *(void **)p = tls.head[c];
    tls.head[c] = p;
    tls.bytes += size;
    POISON(p + HEAD, size - HEAD); /* not the link, which the leak checker must follow */
}

static int mem_size(void *q)
{
    return q ? (int)*(size_t *)((char *)q - HEAD) : 0;
}

static void *mem_realloc(void *q, int n)
{
    if (!q) return mem_malloc(n);
    int had = mem_size(q);
    if (n <= had) return q;
    void *r = mem_malloc(n);
    if (r) {
        memcpy(r, q, (size_t)had);
        mem_free(q);
    }
    return r;
}

static int mem_roundup(int n)
{
    size_t total = (size_t)(n > 0 ? n : 1) + HEAD, c = class_of(total);
    return c < CLASSES ? (int)((c + 1) * UNIT - HEAD) : (n + 7) & ~7;
}

static int mem_init(void *arg)
{
    (void)arg;
    return SQLITE_OK;
}

static void mem_shutdown(void *arg)
{
    (void)arg;
}

const sqlite3_mem_methods *sqlmem_methods(void)
{
    static const sqlite3_mem_methods m = {mem_malloc, mem_free,   mem_realloc, mem_size,
                                          mem_roundup, mem_init, mem_shutdown, NULL};
    return &m;
}

size_t sqlmem_cached(void)
{
    return tls.bytes;
}
