/*
 * store: `sked backup` and `sked restore` - a consistent copy of the SQLite store taken while
 * sked runs (SQLite's online backup), and putting one back while it does not.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "store/store.h"

enum { O_DB };

static const char *db_path(const struct opts *o)
{
    const char *p = opts_get(o, O_DB);
    if (!p) p = getenv("SKED_DB");
    return p && *p ? p : "var/sked.db";
}

static void print_info(const char *what, const char *file, const struct store_copy_info *i)
{
    printf("%s %s: %lld job(s), %lld run(s), %.1f MiB\n", what, file, (long long)i->jobs,
           (long long)i->runs, (double)(i->pages * i->page_size) / (1024.0 * 1024.0));
}

/* The signal that asked a backup to stop (SIGINT, SIGTERM, SIGHUP), else 0. */
static volatile sig_atomic_t backup_stop;

static void on_backup_stop(int sig)
{
    backup_stop = sig;
}

/* A backup's progress on a terminal: one line on stderr, redrawn as the percent changes;
 * arg points to the percent drawn (-1 while none is). */
static void on_backup_progress(void *arg, int64_t done, int64_t total)
{
    int *shown = arg, pct = total > 0 ? (int)(done * 100 / total) : 100;
    if (pct == *shown) return;
    *shown = pct;
    if (pct < 100)
        fprintf(stderr, "\r\033[Kcopying the store: %d%% of %.1f MiB", pct,
                (double)total / (1024.0 * 1024.0));
    else /* quick_check reads it all again */
        fprintf(stderr, "\r\033[Kchecking the copy (%.1f MiB)", (double)total / (1024.0 * 1024.0));
    fflush(stderr);
}

int cmd_backup(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"db", 0, true, O_DB}, {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked backup FILE [--db PATH]\n"
        "\n"
        "Writes a consistent copy of the store to FILE (which must not exist) while sked may\n"
        "be running, checks it and says what it holds. Restore it with `sked restore`.\n"
        "The copy is written as FILE.partial and named FILE once it is whole and checked;\n"
        "stopped (Ctrl-C, SIGTERM, SIGHUP: exit 130, 143, 129) or failed, it is deleted.\n"
        "On a terminal, the share copied is shown as it goes.\n"
        "\n"
        "  --db PATH            the store (default: $SKED_DB, else var/sked.db)\n"
        "  -h, --help           show this help\n";
    struct opts o;
    int rc = opts_parse_local(&o, "sked backup", usage, spec, "FILE", argc, argv);
    if (rc >= 0) return rc;
    if (strcmp(o.arg, "-") == 0) {
        rc = usage_error(&o, "a backup is an SQLite file, not a stream: give a file name "
                             "(./- for a file named -)");
        opts_free(&o);
        return rc;
    }
    struct store_copy_info info;
    struct sk_err e = {0};
    /* a signal stops the copy between two steps, so that the partial copy is deleted rather
     * than left for a restore to take */
    struct sigaction sa = {.sa_handler = on_backup_stop}, old[3];
    sigemptyset(&sa.sa_mask);
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &sa, &old[i]);
    int shown = -1;
    struct store_copy_watch watch = {isatty(STDERR_FILENO) ? on_backup_progress : NULL, &shown,
                                     &backup_stop};
    int brc = store_backup(db_path(&o), o.arg, &info, &watch, &e);
    if (shown >= 0) { /* the progress line taken off */
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    if (brc == -EINTR) {
        fprintf(stderr, "sked backup: %s\n", e.msg);
        rc = 128 + backup_stop;
    } else if (brc != 0) {
        fprintf(stderr, "sked backup: %s\n", e.msg);
        rc = EXIT_FAIL;
    } else {
        print_info("backed up to", o.arg, &info);
        rc = 0;
    }
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &old[i], NULL);
    opts_free(&o);
    return rc;
}

int cmd_restore(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"db", 0, true, O_DB}, {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked restore BACKUP [--db PATH]\n"
        "\n"
        "Replaces the store with a copy made by `sked backup`, after checking it. Stop sked\n"
        "first: a store in use is refused.\n"
        "\n"
        "  --db PATH            the store (default: $SKED_DB, else var/sked.db)\n"
        "  -h, --help           show this help\n";
    struct opts o;
    int rc = opts_parse_local(&o, "sked restore", usage, spec, "BACKUP", argc, argv);
    if (rc >= 0) return rc;
    /* said as backup says them, rather than as a store that fails to open */
    struct stat st;
    if (strcmp(o.arg, "-") == 0 || (stat(o.arg, &st) == 0 && S_ISDIR(st.st_mode))) {
        rc = usage_error(&o, strcmp(o.arg, "-") == 0
                                 ? "a backup is an SQLite file, not a stream: give its file name "
                                   "(./- for a file named -)"
                                 : "%s is a folder: give the backup's file", o.arg);
        opts_free(&o);
        return rc;
    }
    struct store_copy_info info;
    struct sk_err e = {0};
    if (store_restore(o.arg, db_path(&o), &info, &e) != 0) {
        fprintf(stderr, "sked restore: %s\n", e.msg);
        rc = EXIT_FAIL;
    } else {
        print_info("restored into", db_path(&o), &info);
        rc = 0;
    }
    opts_free(&o);
    return rc;
}
