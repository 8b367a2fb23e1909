/*
 * xalloc: allocation that never returns NULL. sked treats running out of memory as fatal
 * (it aborts with a message), so no caller carries an out-of-memory branch. Every buffer fed
 * from outside still has its own hard cap; that is what keeps memory bounded, not these.
 */
#ifndef SKED_XALLOC_H
#define SKED_XALLOC_H

#include <stddef.h>

/* Each returns memory the caller frees with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Copy of at most n bytes of s, always NUL-terminated. */
char *xstrndup(const char *s, size_t n);
/* printf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
