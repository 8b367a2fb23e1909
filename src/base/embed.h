/* embed: files compiled into the binary (SQL migrations, the web UI) by tools/embed.py. */
#ifndef SKED_EMBED_H
#define SKED_EMBED_H

#include <stddef.h>

struct embedded_file {
    const char *name; /* path relative to its folder; NULL ends a table */
    const unsigned char *data; /* NUL-terminated as a convenience */
    size_t size;
};

#endif
