/*
 * map: a string-keyed hash table (separate chaining, power-of-two buckets). Keys are copied;
 * values are the caller's. Used for registries and subscriber sets, never for stored data.
 */
#ifndef SKED_MAP_H
#define SKED_MAP_H

#include <stddef.h>
#include <stdint.h>

struct map_entry {
    char *key;
    void *value;
    struct map_entry *next;
};

struct map {
    struct map_entry **buckets;
    size_t nbuckets;
    size_t count;
};

void map_init(struct map *m);
/* The hash of a key, for tables of other shapes: every byte counts in its low bits. */
uint64_t map_hash(const char *s);
/* Frees the table and its key copies; values are left to the caller (free them first). */
void map_release(struct map *m);
void *map_get(const struct map *m, const char *key);
/* Sets key to value; returns the previous value or NULL. */
void *map_put(struct map *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *map_del(struct map *m, const char *key);

/* Iteration: for (e = map_first(m, &i); e; e = map_next(m, &i, e)) - no changes meanwhile. */
struct map_entry *map_first(const struct map *m, size_t *iter);
struct map_entry *map_next(const struct map *m, size_t *iter, struct map_entry *e);

#endif
