/*
 * sqlmem: SQLite's memory allocator in sked - the C library's malloc behind a small cache per
 * thread of freed blocks by size class. Debian builds SQLite without its lookaside allocator,
 * so every statement's cursors and registers were allocated and freed again from malloc on
 * every execution (about 80 times per run); a block from the cache costs a few instructions.
 * Blocks of up to 2.5 KB are cached, at most 256 KB per thread, given back when the thread
 * ends. Under AddressSanitizer a cached block is poisoned, so a use after free is still found.
 */
#ifndef SKED_STORE_SQLMEM_H
#define SKED_STORE_SQLMEM_H

#include <sqlite3.h>
#include <stddef.h>

/* The methods for sqlite3_config(SQLITE_CONFIG_MALLOC, ...). */
const sqlite3_mem_methods *sqlmem_methods(void);
/* Bytes this thread keeps cached (for tests). */
size_t sqlmem_cached(void);

#endif
