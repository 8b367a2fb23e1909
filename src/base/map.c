/* map: string-keyed hash table; see map.h. */
#include "map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Eight bytes at a time, each word folded in by a multiply and a shift, then the whole mixed
 * so that the low bits the buckets use depend on every byte: the keys are mostly 36-character
 * ids, which a byte at a time took five times as long. */
uint64_t map_hash(const char *s)
{
    size_t n = strlen(s);
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 29;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 32);
}

void map_init(struct map *m)
{
    m->nbuckets = 16;
    m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
    m->count = 0;
}

void map_release(struct map *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct map_entry *e = m->buckets[i];
        while (e) {
            struct map_entry *n = e->next;
            free(e->key);
            free(e);
            e = n;
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = m->count = 0;
}

static struct map_entry **slot(const struct map *m, const char *key)
{
    struct map_entry **pp = &m->buckets[map_hash(key) & (m->nbuckets - 1)];
    while (*pp && strcmp((*pp)->key, key) != 0) pp = &(*pp)->next;
    return pp;
}

void *map_get(const struct map *m, const char *key)
{
    if (!m->buckets) return NULL;
    struct map_entry *e = *slot(m, key);
    return e ? e->value : NULL;
}

static void rehash(struct map *m)
{
    size_t n = m->nbuckets * 2;
    struct map_entry **b = xcalloc(n, sizeof *b);
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct map_entry *e = m->buckets[i];
        while (e) {
            struct map_entry *next = e->next;
            size_t j = map_hash(e->key) & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

void *map_put(struct map *m, const char *key, void *value)
{
    if (!m->buckets) map_init(m);
    struct map_entry **pp = slot(m, key);
    if (*pp) {
        void *old = (*pp)->value;
        (*pp)->value = value;
        return old;
    }
    struct map_entry *e = xmalloc(sizeof *e);
    e->key = xstrdup(key);
    e->value = value;
    e->next = NULL;
    *pp = e;
    if (++m->count > m->nbuckets) rehash(m);
    return NULL;
}

void *map_del(struct map *m, const char *key)
{
    if (!m->buckets) return NULL;
    struct map_entry **pp = slot(m, key);
    struct map_entry *e = *pp;
    if (!e) return NULL;
    void *v = e->value;
    *pp = e->next;
    free(e->key);
    free(e);
    m->count--;
    return v;
}

struct map_entry *map_first(const struct map *m, size_t *iter)
{
    for (*iter = 0; m->buckets && *iter < m->nbuckets; (*iter)++)
        if (m->buckets[*iter]) return m->buckets[*iter];
    return NULL;
}

struct map_entry *map_next(const struct map *m, size_t *iter, struct map_entry *e)
{
    if (e->next) return e->next;
    for ((*iter)++; *iter < m->nbuckets; (*iter)++)
        if (m->buckets[*iter]) return m->buckets[*iter];
    return NULL;
}
