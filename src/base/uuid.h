/* uuid: version-4 (random) and version-7 (time-ordered) UUIDs as 36-character lower-case
 * strings. */
#ifndef SKED_UUID_H
#define SKED_UUID_H

#include <stdbool.h>
#include <stdint.h>

#define UUID_STR_LEN 37 /* 36 characters and the NUL */

void uuid_v4(char out[UUID_STR_LEN]);
/* A UUID whose first 60 bits are now_us (microseconds since the epoch, UTC) as milliseconds and
 * the fraction of the millisecond, the rest random: ids made later sort after, so a run's id
 * goes in at the end of the id index instead of on a random page of it. */
void uuid_v7(char out[UUID_STR_LEN], int64_t now_us);
/* True when s is a UUID in canonical 8-4-4-4-12 hex form (either case). */
bool uuid_valid(const char *s);

#endif
