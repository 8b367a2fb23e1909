/*
 * log: sked's own log, one line per event on stderr: a timestamp, the level, an event name and
 * key=value fields ("text"), or one JSON object per line ("json"). Never carries secrets:
 * callers pass ids and names, not tokens or passwords.
 */
#ifndef SKED_LOG_H
#define SKED_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_TEXT, LOG_JSON };

void log_setup(enum log_level min, enum log_format fmt);
/* Parses "debug|info|warn|error"; returns -1 when unknown. */
int log_level_parse(const char *s);
/*
 * fields is a printf format of space-separated key=value pairs; values that need quoting are
 * the caller's (use %s only for simple tokens, or log_q() for free text).
 */
void log_event(enum log_level lvl, const char *event, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...) log_event(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_event(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_ERROR, ev, __VA_ARGS__)

/*
 * Quotes free text for a key=value field; returns one of a few rotating static buffers, so at
 * most four log_q() results may appear in one call.
 */
const char *log_q(const char *s);

#endif
