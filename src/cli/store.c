/*
 * store: `sked backup` and `sked restore` - a consistent copy of the SQLite store taken while
 * sked runs (SQLite's online backup), and putting one back while it does not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cmd_backup(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"db", 0, true, O_DB}, {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked backup FILE [--db PATH]\n"
        "\n"
        "Writes a consistent copy of the store to FILE (which must not exist) while sked may\n"
        "be running, checks it and says what it holds. Restore it with `sked restore`.\n"
        "\n"
        "  --db PATH            the store (default: $SKED_DB, else var/sked.db)\n"
        "  -h, --help           show this help\n";
    struct opts o;
    int rc = opts_parse_local(&o, "sked backup", usage, spec, "FILE", argc, argv);
    if (rc >= 0) return rc;
    struct store_copy_info info;
    struct sk_err e = {0};
    if (store_backup(db_path(&o), o.arg, &info, &e) != 0) {
        fprintf(stderr, "sked backup: %s\n", e.msg);
        rc = EXIT_FAIL;
    } else {
        print_info("backed up to", o.arg, &info);
        rc = 0;
    }
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
