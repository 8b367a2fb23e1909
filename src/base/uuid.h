/* uuid: random version-4 UUIDs as 36-character lower-case strings. */
#ifndef SKED_UUID_H
#define SKED_UUID_H

#include <stdbool.h>

#define UUID_STR_LEN 37 /* 36 characters and the NUL */

void uuid_v4(char out[UUID_STR_LEN]);
/* True when s is a UUID in canonical 8-4-4-4-12 hex form (either case). */
bool uuid_valid(const char *s);

#endif
