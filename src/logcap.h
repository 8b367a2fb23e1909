/*
 * logcap: turning what a task writes into a run's log and state, with hard caps.
 *
 * Log capture: bytes from stdout/stderr are split into lines; a line may start with a syslog
 * level prefix as in sd-daemon ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug), else
 * stdout lines are INFO and stderr lines ERROR. Lines longer than line_max are split between
 * characters, each part at the first part's level (nothing lost: a later part's "<3>" is text,
 * and only a line's end drops a carriage return, which does not count toward line_max: a line
 * of line_max bytes and "\r\n" stays whole); invalid UTF-8 is repaired. A line counts toward
 * the run's byte cap with its newline (an empty line: 1 byte; a part of a split line too).
 * Once a run's log passes its byte cap a single truncation line is kept and further output is discarded (the
 * task keeps running). Captured lines wait in `pending` until the engine takes them (to store
 * them in one transaction and publish them).
 *
 * Status lines: the task's status fd carries JSON lines - {"progress":{"done":n,"total":n}},
 * {"entries":{"total":n,"inserted":n,"updated":n,"errored":n}}, {"message":"..."},
 * {"output":<any JSON>} - parsed and validated by logcap_status_parse. A line is taken whole or
 * not at all: an unknown key, at the top or inside progress or entries, an invalid value or
 * counts that contradict each other (done above total, a counter above the entries' total in
 * the same line) refuse it.
 *
 * Pure: no I/O, no clock (callers pass now), so it is unit-tested directly.
 */
#ifndef SKED_LOGCAP_H
#define SKED_LOGCAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/store.h"

#define LOGCAP_TAIL 5 /* error lines remembered for a failure message */

struct logcap {
    int64_t next_seq;
    int64_t bytes, cap;
    size_t line_max;
    bool truncated;
    struct buf partial[2]; /* unfinished line per stream (stdout, stderr) */
    bool cont[2];          /* the stream's next piece goes on a line split at line_max */
    int cont_level[2];     /* that line's level */
    struct log_line *pending;
    size_t npending, cpending;
    char *tail[LOGCAP_TAIL]; /* the last ERROR-or-worse lines, oldest first */
    size_t ntail;
    json_t *mask; /* strings each line shows as *** (the run's secrets), or NULL */
};

/* line_max: 0 for 16 KiB; at least 4 (the longest UTF-8 character) is taken. */
void logcap_init(struct logcap *c, int64_t next_seq, int64_t cap, size_t line_max);
void logcap_release(struct logcap *c);
/* Feeds raw bytes of stream (STREAM_STDOUT or STREAM_STDERR). */
void logcap_feed(struct logcap *c, int stream, const char *data, size_t n, int64_t now);
/* Ends a stream: a last unterminated line is kept. */
void logcap_eof(struct logcap *c, int stream, int64_t now);
/* Adds one whole line (sked's own notes, e.g. "stop requested"), subject to the cap. */
void logcap_line(struct logcap *c, int level, int stream, const char *msg, int64_t now);
/* Hands the pending lines to the caller (who frees them with store_log_free). */
size_t logcap_take(struct logcap *c, struct log_line **lines);
/* The remembered error lines joined by newlines, or NULL when none. Caller frees. */
char *logcap_tail(const struct logcap *c);

/* One parsed status line; unset members are NULL / false. */
struct status_update {
    json_t *progress; /* {"done":n,"total":n|null} */
    bool has_entries;
    int64_t total, inserted, updated, errored; /* -1: not in this line (keeps its value) */
    char *message;
    json_t *output;
};

/* Parses one status-fd line. -EINVAL with e naming the key and reason when invalid. */
int logcap_status_parse(const char *line, size_t n, struct status_update *u, struct sk_err *e);

#define LOGCAP_QUOTE_MAX 200 /* bytes of a task's text quoted in a note about it */

/* The note for a status line that logcap_status_parse refused with e: "ignored status line:
 * FIELD: REASON; the line: TEXT". TEXT shows the line as one printable line (invalid UTF-8 as
 * U+FFFD, control characters and NUL bytes as \u00XX) cut after LOGCAP_QUOTE_MAX bytes of that
 * (between characters and escapes, a cut marked by "…"). The run's secrets (c's mask) are
 * masked before the cut; in a key or a JSON parser's token cut short before the note was made,
 * a secret's start is masked too. Caller frees. */
char *logcap_status_ignored(const struct logcap *c, const char *line, size_t n,
                            const struct sk_err *e);
void status_update_release(struct status_update *u);

#endif
