/*
 * client: what every client command shares - the command line (options, positional
 * arguments, --help, usage errors), the HTTP connection to the server (JSON requests, the
 * Server-Sent Events stream, the error and exit-code conventions) and the output helpers
 * (aligned tables, key/value blocks, compact local times, pretty JSON).
 *
 * Exit codes are one contract for all commands: 0 ok, 1 the server refused or the work did
 * not succeed, 2 a usage error, 3 the server could not be reached. Every function that can
 * fail prints why on stderr itself and hands back the exit code, so commands just return it.
 */
#ifndef SKED_CLI_CLIENT_H
#define SKED_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

/* No response body is read past this; a larger one is an error, not a truncation. */
#define CLIENT_MAX_BODY (64u * 1024 * 1024)

struct opt_spec;
struct opts;

struct client {
    char *url;    /* base URL, no trailing slash */
    char *token;  /* NULL when none */
    char *cacert; /* the CA certificates an https:// server is checked against; NULL: the system's */
    /* the fields of refused requests are a file's (sked job import), named as they are;
     * otherwise as the options of the command (spec) that set them (default_queue as
     * --queue), and as they are when it has no such option; of two options that may send a
     * field (--since and --arg since=...), by the one given in opts */
    bool file_fields;
    const struct opt_spec *spec;
    const struct opts *opts;
    /* when set, what a refusal prints on stderr is appended here too (sked job import --json) */
    struct buf *said;
    /* when set, what a refusal is about ("queue low"), named at its start: a command that sends
     * one request per item (sked queues pause --all) says which item the server refused */
    const char *about;
    /* when set, the HTTP status of the last answer goes here (0: none came) */
    long *status;
};

/* ---- the command line ---- */

/* The options every command takes, for the end of its --help. */
#define USAGE_COMMON                                                                               \
    "  --url URL            server to talk to (default: $SKED_URL, else\n"                         \
    "                       http://127.0.0.1:8080)\n"                                              \
    "  --token TOKEN        API token (default: $SKED_TOKEN)\n"                                    \
    "  --cacert FILE        for an https:// URL, trust the CA certificates in FILE (PEM)\n"       \
    "                       instead of the system's (default: $SKED_CA_FILE)\n"                    \
    "  -h, --help           show this help\n"

/*
 * One option of a command. Commands that share options (job create and update) give them the
 * same id in tables that differ only in which options they list.
 */
struct opt_spec {
    const char *name; /* long name without the dashes; NULL ends the table */
    char short_name;  /* single-letter alias, or 0 */
    bool has_value;
    int id; /* below OPTS_MAX; how the command reads the option back */
    bool repeatable; /* a list (--arg, --notify-email): else a value given twice is refused */
};

#define OPTS_MAX 48

struct opts {
    const char *prog;  /* "sked job create", for messages */
    const char *usage; /* the --help text */
    const struct opt_spec *spec;
    const char *arg; /* the positional argument (JOB, RUN), or NULL */
    /* every value an option got, in order ("" for a flag), by option id */
    const char **vals[OPTS_MAX];
    size_t nvals[OPTS_MAX];
    struct client cl;
    bool local; /* a local tool (opts_parse_local): no server, no --url or --token */
};

/*
 * Parses argv (argv[0] is the command's own name) against spec, which may be NULL for a command
 * without options. pos_name ("JOB") names the one positional argument the command requires, or
 * is NULL when it takes none. --url, --token, --cacert and -h/--help are taken everywhere. Returns -1 to
 * go on (free o with opts_free() when done), or an exit code to return right away (0 after
 * --help, EXIT_USAGE after a usage error; nothing is left to free then).
 */
int opts_parse(struct opts *o, const char *prog, const char *usage, const struct opt_spec *spec,
               const char *pos_name, int argc, char **argv);
/* The same for a command whose positional argument may be left out (o->arg NULL then). */
int opts_parse_optional(struct opts *o, const char *prog, const char *usage,
                        const struct opt_spec *spec, const char *pos_name, int argc, char **argv);
/* The same for a local tool (working on the store or offline): --url, --token and SKED_URL
 * are none of its business; its positional argument is required when pos_name is given. */
int opts_parse_local(struct opts *o, const char *prog, const char *usage,
                     const struct opt_spec *spec, const char *pos_name, int argc, char **argv);
void opts_free(struct opts *o);
bool opts_has(const struct opts *o, int id);
/* The last value given for the option, or NULL. */
const char *opts_get(const struct opts *o, int id);
/* The long name of option id ("retention"), for messages. */
const char *opt_name(const struct opts *o, int id);
/* Reads a whole-number option within [min, max] into *out (left alone when absent); returns 0
 * or EXIT_USAGE. */
int opts_int(const struct opts *o, int id, long min, long max, long *out);
/* Reads an instant option (2024-05-01, 2024-05-01T10:00Z) into *us (left alone when absent);
 * returns 0 or EXIT_USAGE. */
int opts_time(const struct opts *o, int id, int64_t *us);
/* The same, but a time written without a zone (2024-05-01 10:00) is local time, as the tables
 * show times; with one (Z, +02:00) it is that. A local time that happens twice (the clocks
 * fall back) is read as its first instant for the start of a span (--since, --from), and as
 * its second when end is set (--until, --to): either way the hour between is in the span. A
 * note on stderr says which was taken, and how to name the other. */
int opts_time_local(const struct opts *o, int id, bool end, int64_t *us);
/* What the API would say against a one-line text of 1 to max characters (a name, a reason:
 * api_line_field in src/http/api.c), in its words ("must not be blank"); NULL when it takes
 * it. buf (len bytes) may hold the words. */
const char *text_line_problem(const char *v, size_t max, char *buf, size_t len);
/* A list's --page and --size: 1 and 25 when absent, at most 1000 a page; 0 or EXIT_USAGE. */
int opts_page(const struct opts *o, int page_id, int size_id, long *page, long *size);
/* "&key=value" appended to a request path, value escaped; nothing when value is NULL. */
void query_param(struct buf *path, const char *key, const char *value);
/* The same for an instant, in RFC 3339. */
void query_time(struct buf *path, const char *key, int64_t us);
/* Prints "PROG: message" and the pointer to --help; returns EXIT_USAGE. */
int usage_error(const struct opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A command group such as `sked job`: argv[0] is the group, argv[1] the verb. */
struct verb {
    const char *name;
    int (*fn)(int argc, char **argv);
};
int cli_group(const char *prog, const char *usage, const struct verb *verbs, int argc, char **argv);

/* ---- the server ---- */

/*
 * One request. path starts with "/api/..." and is already escaped; body (borrowed) may be NULL.
 * On a 2xx answer returns 0 with *out the parsed body (NULL for an empty one; out may be NULL).
 * Otherwise prints the server's message and field errors (or the transport failure) and returns
 * EXIT_FAIL or EXIT_UNREACHABLE. The errors speak the CLI: a field is named by the option that
 * sets it ("--queue", "--arg folder=..."), a pointer to an endpoint by the command that reads it
 * ("see sked tasks").
 */
int client_call(const struct client *c, const char *method, const char *path, const json_t *body,
                json_t **out);
/* The same, printing nothing when it fails (a transport failure, a refusal), for a caller that
 * knows what to make of a failure first. */
int client_call_quiet(const struct client *c, const char *method, const char *path,
                      const json_t *body, json_t **out);
/* A GET whose path is built with printf. */
int client_get(const struct client *c, json_t **out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, printing nothing when it fails: for what a command adds when it can (an aside). */
int client_get_quiet(const struct client *c, json_t **out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Reads a Server-Sent Events stream until the server ends it. fn gets each event (data lines
 * joined by '\n'; id is "" when the event has none) and returns 0 to go on or an exit code to
 * stop with. Returns 0 when the server ended the stream; CLIENT_STREAM_BROKEN, having printed
 * nothing, when the connection broke after the stream had started (the caller may reconnect);
 * CLIENT_STREAM_DOWN, having printed nothing, when resuming and the server cannot be connected
 * to, or a proxy in front of it says it does not answer (it may be restarting); else a printed
 * failure's exit code.
 */
#define CLIENT_STREAM_BROKEN (-1)
#define CLIENT_STREAM_DOWN (-2)
typedef int (*sse_fn)(void *arg, const char *event, const char *id, const char *data);
int client_stream(const struct client *c, const char *path, sse_fn fn, void *arg, bool resuming);

/*
 * Following a run (sked logs -f, sked job run --wait) is ended by SIGINT or SIGTERM, not the
 * process: while client_catch_stop(true) is on, such a signal ends the request or stream under
 * way quietly (its exit code 128 + the signal, 130 or 143) and client_stopped() tells which came.
 * client_catch_stop(false) puts the dispositions back as they were.
 */
void client_catch_stop(bool on);
int client_stopped(void);

/* s escaped for a query string or path segment; caller frees. */
char *client_escape(const char *s);

/* ---- output ---- */

struct table {
    size_t ncols, nrows;
    char **cells; /* (nrows + 1) * ncols, the header row first */
    /* TABLE_COL(i) for each column i of free text (a title, a message, a note): on a terminal,
     * the widest of them are cut (with an ellipsis) until the table fits its width */
    unsigned free_text;
};
#define TABLE_COL(i) (1u << (i))

/* ncols header names follow. */
void table_init(struct table *t, size_t ncols, ...);
/* ncols cell texts follow (NULL prints as "-"), copied. */
void table_row(struct table *t, ...);
/* Pads every column but the last to its widest cell, each cell with control characters made
 * visible, so text from outside cannot move the cursor, and on one line. When f is a terminal,
 * a cell of several lines shows its first and an ellipsis, and a table wider than the terminal
 * (terminal_cols) has its free-text columns cut to fit, the widest first; elsewhere (a pipe, a
 * file) every cell is printed whole, its lines joined by " ⏎ ". */
void table_print(const struct table *t, FILE *f);
/* The width of the terminal f writes to: $COLUMNS when set, else the terminal's own; 0 when f
 * is no terminal. */
size_t terminal_cols(FILE *f);
void table_free(struct table *t);

/* The items of an API listing ({"hits":{"hits":[...],"total":N}}). */
json_t *list_hits(const json_t *list);
/* The request path ("/api/...") of a listing's links.next (caller frees), or NULL at its end.
 * A page of large items (runs with big arguments) may hold fewer than its size, and one asked
 * for by number may be answered at a smaller size: links.next, not a count of pages or of
 * items, tells where the next one starts. */
char *list_next(const json_t *list);
/* The page of at most size items that path (already escaped, naming that size) asks for,
 * gathered from the pages links.next leads to when the server answered with fewer: one
 * document, the first answer's with every item in hits.hits and the last one's links.next.
 * Returns as client_get. */
int client_get_page(const struct client *c, json_t **list, long size, const char *path);
/* Prints t filled from one page of list, "no NOUN" when empty, and a hint when more pages
 * exist. */
void list_print(const struct table *t, const json_t *list, long page, long size, const char *noun);

/* "Key          value" lines of a detail view; a NULL or empty value prints "-". */
void kv_print(FILE *f, const char *key, const char *value);
/* The same for a value that is one line (a title, a name, a message): control characters made
 * visible and anything after a line break cut, as in tables, so stored text cannot forge the
 * lines around it. */
void kv_line(FILE *f, const char *key, const char *value);
/* The same for text of several lines from a task (a run's message): every line shown, those
 * after the first indented behind "| ", so none passes for a field of its own. */
void kv_text(FILE *f, const char *key, const char *value);
/* Text's lines after the first as kv_text shows them, indented by indent, each cut at
 * max_cols (0: whole), at most max_lines of them (0: all) and then how many more there are. */
void text_more_lines(FILE *f, const char *text, int indent, size_t max_cols, size_t max_lines);
/* The same with a JSON value shown compactly ("-" for null or missing). */
void kv_json(FILE *f, const char *key, const json_t *value);

/* Pretty JSON on stdout, as the API sent it. */
void print_json(const json_t *v);

/* Appends s (NULL: nothing) with control characters (C0, DEL, C1, the bidirectional ones)
 * replaced, at most max_cols
 * columns (0: no limit) and only up to its first line break, marking a cut with an ellipsis.
 * Columns are counted as terminals draw them: a CJK character or an emoji takes two, a
 * combining mark, a variation selector, a zero-width joiner (U+200D) and the character it
 * joins to the one before (the emoji sequence of a family) none. */
void text_clean(struct buf *b, const char *s, size_t max_cols);

/* s as text_clean() shows it, for a printf of a value from the server or the store ("-" for
 * NULL); valid until eight more calls. */
const char *shown(const char *s);

#define TIMEBUF 40
/* An API time in local time, compactly: "14:03:07" today, "Mar 05 14:03" this year, else
 * "2024-03-05 14:03"; "-" for NULL or unparsable. */
const char *fmt_time(const char *iso, char out[TIMEBUF]);
/* "5s ago", "3h ago", "in 2m". */
const char *fmt_ago(const char *iso, char out[TIMEBUF]);
/* A log line's time: "2026-03-05 14:03:07.123" local. */
const char *fmt_log_time(const char *iso, char out[TIMEBUF]);
/* Seconds as "850ms", "12.3s", "4m05s", "2h07m"; "-" when v is not a number. */
const char *fmt_duration(const json_t *v, char out[TIMEBUF]);

/* The start of an id as tables show it: 8 characters, 13 of a run's (a version-7 UUID). */
const char *short_id(const char *id, char out[16]);
/* The start of a run's id as a table of the runs of hits shows it (their ids in member key):
 * short_id's, or longer where another run of the table has an id starting alike (runs made in
 * the same millisecond), up to the first character that tells them apart, so that every id
 * shown names one run of the table. */
const char *short_run_id(const char *id, const json_t *hits, const char *key, char out[37]);

#endif
