/*
 * user: `sked user add|list|passwd|delete` and `sked token create|list|revoke`. They work on
 * the store itself (--db, default $SKED_DB or var/sked.db), not through the API, so whoever
 * runs them on the server's machine can always recover - a forgotten admin password, a lost
 * token - even while sked serves (the store's WAL lets both write). What they change is
 * recorded in the audit trail as done by the local operating-system user.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/uuid.h"
#include "base/xalloc.h"
#include "commands.h"
#include "http/auth.h"
#include "store/store.h"

enum { O_DB, O_ROLE, O_DISPLAY, O_PW_STDIN, O_NO_PW, O_YES, O_USER, O_NAME, O_EXPIRES, O_JSON };

#define USAGE_DB                                                                                   \
    "  --db PATH            the store (default: $SKED_DB, else var/sked.db)\n"                     \
    "  -h, --help           show this help\n"

#define STORE_TODO "pass --db with the path sked serve uses"

/* Whether path may be the store sked serve made, else prints why and what to do, in the words
 * of sked backup (src/store/sqlite.c). store_open would make a new store of a missing or an
 * empty file, which no server reads: what these commands changed there would be lost. */
static bool store_at(const struct opts *o, const char *path)
{
    struct sk_err e = {0};
    if (store_not_a_file(&e, path)) {
        fprintf(stderr, "%s: %s\n", o->prog, e.msg);
        return false;
    }
    if (access(path, R_OK | W_OK) != 0) {
        int err = errno;
        if (err == ENOENT)
            fprintf(stderr, "%s: no store at %s (%s); " STORE_TODO "\n", o->prog, path,
                    strerror(err));
        else
            fprintf(stderr, "%s: cannot open the store %s (%s); %s\n", o->prog, path, strerror(err),
                    err == EACCES || err == EPERM ? "run this as the user sked serve runs as"
                                                  : STORE_TODO);
        return false;
    }
    /* every store begins with SQLite's header */
    char head[16];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, head, sizeof head) : -1;
    int err = errno;
    if (fd >= 0) close(fd);
    if (n == (ssize_t)sizeof head && memcmp(head, "SQLite format 3", sizeof head) == 0) return true;
    fprintf(stderr, "%s: %s is not a store of sked (%s); " STORE_TODO "\n", o->prog, path,
            n < 0    ? strerror(err)
            : n == 0 ? "it has none of sked's tables"
                     : "file is not a database");
    return false;
}

/* The store named by --db. */
static const char *db_path(const struct opts *o)
{
    const char *path = opts_get(o, O_DB);
    if (!path) path = getenv("SKED_DB");
    return path && *path ? path : "var/sked.db";
}

/* Opens the store named by --db; prints why and returns NULL when it cannot. */
static struct store *open_store(const struct opts *o)
{
    const char *path = db_path(o);
    if (!store_at(o, path)) return NULL;
    log_setup(LOG_WARN, LOG_TEXT);
    struct store *s;
    struct sk_err e = {0};
    if (store_open(path, DURABILITY_NORMAL, &s, &e) != 0) {
        fprintf(stderr, "%s: %s\n", o->prog, e.msg);
        return NULL;
    }
    return s;
}

/* Closes the store s (NULL: none was opened) of a command that ends with rc. A write that
 * failed is logged by the store in its own terms (store.error, the operation and SQLite's
 * reason); a full disk, which trying again does not mend, is also said in the command's words:
 * with rc 0 the change was made, and only its entry in the audit trail was not. */
static void close_store(const struct opts *o, struct store *s, int rc)
{
    if (s && store_failed_full(s)) {
        const char *path = db_path(o), *slash = strrchr(path, '/');
        int len = !slash ? 1 : slash == path ? 1 : (int)(slash - path);
        if (rc != 0)
            fprintf(stderr,
                    "%s: cannot write the store %s: the disk that holds it is full; "
                    "free space on that disk (df %.*s), then run this again\n",
                    o->prog, path, len, slash ? path : ".");
        else
            fprintf(stderr,
                    "%s: done, but the audit trail does not record it: the disk that "
                    "holds the store %s is full; free space on that disk (df %.*s)\n",
                    o->prog, path, len, slash ? path : ".");
    }
    store_close(s);
}

static void audit_local(struct store *s, const char *action, const char *target, json_t *details)
{
    struct passwd *pw = getpwuid(getuid());
    struct audit_entry e = {0};
    e.ts = time_now_us();
    e.actor_kind = "cli";
    e.actor_name = pw ? pw->pw_name : "unknown";
    e.action = (char *)action;
    e.target = (char *)target;
    e.details = details;
    e.address = "local";
    store_audit_append(s, &e);
    json_decref(details);
}

/* One line of f into buf (of n bytes), without its line ending; false when the line is longer
 * than buf holds (what is left of it is read and dropped). */
static bool password_line(FILE *f, char *buf, size_t n)
{
    if (!fgets(buf, (int)n, f)) {
        buf[0] = '\0';
        return true;
    }
    size_t len = strlen(buf);
    bool whole = len && buf[len - 1] == '\n';
    if (!whole) { /* a full buffer is a whole line only when its end follows */
        int c = getc(f);
        whole = c == EOF || c == '\n';
        while (c != EOF && c != '\n') c = getc(f);
    }
    if (len && buf[len - 1] == '\n') buf[--len] = '\0';
    if (len && buf[len - 1] == '\r') buf[--len] = '\0';
    return whole;
}

/* Reads a password into *out (to free with free_password): one line of stdin with
 * --password-stdin, else asked twice on the terminal without echo. Returns 0, else having
 * printed why EXIT_USAGE when there is no terminal to ask on (the command line must say
 * --password-stdin), EXIT_FAIL when the password typed is refused (as the API refuses it). */
static int read_password(const struct opts *o, char **out)
{
    /* room for 1024 characters of four bytes each, the most auth_password_problem allows */
    char buf[4 * 1024 + 2], again[sizeof buf];
    bool whole;
    *out = NULL;
    if (opts_has(o, O_PW_STDIN)) {
        whole = password_line(stdin, buf, sizeof buf);
    } else {
        FILE *tty = fopen("/dev/tty", "r+");
        if (!tty)
            return usage_error(o, "no terminal to ask for the password; use --password-stdin");
        struct termios old, quiet;
        tcgetattr(fileno(tty), &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
        fputs("password: ", tty);
        fflush(tty);
        whole = password_line(tty, buf, sizeof buf);
        fputs("\nagain: ", tty);
        fflush(tty);
        whole = password_line(tty, again, sizeof again) && whole;
        fputs("\n", tty);
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
        fclose(tty);
        bool same = strcmp(buf, again) == 0;
        sodium_memzero(again, sizeof again);
        if (!same) {
            sodium_memzero(buf, sizeof buf);
            fprintf(stderr, "%s: the passwords differ\n", o->prog);
            return EXIT_FAIL;
        }
    }
    if (!whole) {
        sodium_memzero(buf, sizeof buf);
        fprintf(stderr, "%s: the password must be at most 1024 characters long\n", o->prog);
        return EXIT_FAIL;
    }
    const char *problem = auth_password_problem(buf);
    if (problem) {
        sodium_memzero(buf, sizeof buf);
        fprintf(stderr, "%s: the password %s\n", o->prog, problem);
        return EXIT_FAIL;
    }
    *out = xstrdup(buf);
    sodium_memzero(buf, sizeof buf);
    return 0;
}

static void free_password(char *p)
{
    if (p) sodium_memzero(p, strlen(p));
    free(p);
}

static int account_of(const struct opts *o, struct store *s, const char *name, struct account *a)
{
    int rc = store_account_by_name(s, name, a);
    if (rc == -ENOENT) fprintf(stderr, "%s: no account named '%s'\n", o->prog, name);
    return rc ? EXIT_FAIL : 0;
}

static int user_add(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"db", 0, true, O_DB},
                                           {"role", 0, true, O_ROLE},
                                           {"display-name", 0, true, O_DISPLAY},
                                           {"password-stdin", 0, false, O_PW_STDIN},
                                           {"no-password", 0, false, O_NO_PW},
                                           {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked user add USERNAME --role admin|operator|viewer [OPTIONS]\n"
        "\n"
        "Creates an account. The password is asked on the terminal (twice), read from stdin,\n"
        "or left unset for an account that only uses API tokens.\n"
        "\n"
        "  --role ROLE          admin, operator (run, stop, schedule) or viewer (read only)\n"
        "  --display-name NAME  shown in the admin and in run records: one line of 1 to 200\n"
        "                       characters (default: USERNAME)\n"
        "  --password-stdin     read the password from the first line of stdin\n"
        "  --no-password        no password: the account signs in with tokens only\n" USAGE_DB;
    struct opts o;
    int rc = opts_parse_local(&o, "sked user add", usage, spec, "USERNAME", argc, argv);
    if (rc >= 0) return rc;
    struct store *s = NULL;
    char *pw = NULL;
    int role = role_parse(opts_get(&o, O_ROLE));
    if (role < 0) {
        rc = usage_error(&o, opts_get(&o, O_ROLE)
                                 ? "--role must be admin, operator or viewer"
                                 : "--role is required: admin, operator or viewer");
        goto out;
    }
    if (opts_has(&o, O_PW_STDIN) && opts_has(&o, O_NO_PW)) {
        rc = usage_error(&o, "--password-stdin and --no-password contradict each other; give one");
        goto out;
    }
    const char *why = username_problem(o.arg);
    if (why) {
        rc = usage_error(&o, "USERNAME: %s", why);
        goto out;
    }
    const char *display = opts_get(&o, O_DISPLAY);
    char whybuf[64];
    if (display && (why = text_line_problem(display, 200, whybuf, sizeof whybuf))) {
        rc = usage_error(&o, "--display-name %s", why);
        goto out;
    }
    if (!(s = open_store(&o))) {
        rc = EXIT_FAIL;
        goto out;
    }
    /* as the API rules: a name that would pass for someone else's is refused */
    char taken[300];
    int clash = display ? auth_display_name_problem(s, NULL, o.arg, display, taken, sizeof taken)
                        : 0;
    if (clash) {
        if (clash > 0) fprintf(stderr, "%s: --display-name %s\n", o.prog, taken);
        rc = EXIT_FAIL;
        goto out;
    }
    if (!opts_has(&o, O_NO_PW) && (rc = read_password(&o, &pw))) goto out;
    struct account a = {0};
    uuid_v4(a.id);
    a.username = (char *)o.arg;
    a.display_name = (char *)(display ? display : o.arg);
    a.role = role;
    char hash[128];
    if (pw) {
        if (auth_hash_password(pw, hash) != 0) {
            fprintf(stderr, "%s: cannot hash the password (out of memory)\n", o.prog);
            rc = EXIT_FAIL;
            goto out;
        }
        a.password_hash = hash;
    }
    a.created = a.updated = time_now_us();
    int r = store_account_insert(s, &a);
    if (r == -EEXIST) {
        fprintf(stderr, "%s: the username '%s' is taken\n", o.prog, o.arg);
        rc = EXIT_FAIL;
        goto out;
    }
    if (r) {
        rc = EXIT_FAIL;
        goto out;
    }
    audit_local(s, "user.created", a.id, json_pack("{s:s,s:s}", "username", a.username, "role",
                                                   role_name(role)));
    printf("created account %s (%s, %s)\n", a.username, role_name(role), a.id);
    rc = 0;
out:
    free_password(pw);
    close_store(&o, s, rc);
    opts_free(&o);
    return rc;
}

/* An instant as the API writes it, or null. */
static json_t *time_json(int64_t us)
{
    if (us == NO_TIME) return json_null();
    char ts[TIME_STR_MAX];
    time_format(us, ts);
    return json_string(ts);
}

/* Prints items (stolen) as the API's listings are: {"hits":{"hits":[...],"total":N}}. */
static void print_list(json_t *items)
{
    json_t *doc = json_pack("{s:{s:o,s:I}}", "hits", "hits", items, "total",
                            (json_int_t)json_array_size(items));
    print_json(doc);
    json_decref(doc);
}

static int user_list(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"db", 0, true, O_DB}, {"json", 0, false, O_JSON},
                                           {NULL, 0, false, 0}};
    static const char usage[] = "usage: sked user list [--json] [--db PATH]\n"
                                "\n"
                                "Lists the accounts.\n"
                                "\n"
                                "  --json               print JSON\n" USAGE_DB;
    struct opts o;
    int rc = opts_parse_local(&o, "sked user list", usage, spec, NULL, argc, argv);
    if (rc >= 0) return rc;
    struct store *s = open_store(&o);
    struct account *all = NULL;
    size_t n = 0;
    if (!s || store_account_list(s, &all, &n) != 0) {
        rc = EXIT_FAIL;
        goto out;
    }
    if (opts_has(&o, O_JSON)) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, account_to_json(&all[i]));
        print_list(arr);
    } else {
        struct table t;
        table_init(&t, 5, "USERNAME", "ROLE", "STATE", "DISPLAY NAME", "ID");
        t.free_text = TABLE_COL(3);
        for (size_t i = 0; i < n; i++)
            table_row(&t, all[i].username, role_name(all[i].role),
                      all[i].disabled ? "disabled" : all[i].password_hash ? "active" : "tokens only",
                      all[i].display_name, all[i].id);
        table_print(&t, stdout);
        table_free(&t);
    }
    rc = 0;
out:
    store_accounts_free(all, n);
    close_store(&o, s, rc);
    opts_free(&o);
    return rc;
}

static int user_passwd(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"db", 0, true, O_DB},
                                           {"password-stdin", 0, false, O_PW_STDIN},
                                           {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked user passwd USERNAME [--password-stdin] [--db PATH]\n"
        "\n"
        "Sets an account's password (and enables the account again if it was disabled); its\n"
        "open sessions end.\n"
        "\n"
        "  --password-stdin     read the password from the first line of stdin\n" USAGE_DB;
    struct opts o;
    int rc = opts_parse_local(&o, "sked user passwd", usage, spec, "USERNAME", argc, argv);
    if (rc >= 0) return rc;
    struct store *s = open_store(&o);
    struct account a = {0};
    char *pw = NULL;
    if (!s || account_of(&o, s, o.arg, &a)) {
        rc = EXIT_FAIL;
        goto out;
    }
    if ((rc = read_password(&o, &pw))) goto out;
    char hash[128];
    if (auth_hash_password(pw, hash) != 0) {
        rc = EXIT_FAIL;
        goto out;
    }
    free(a.password_hash);
    a.password_hash = xstrdup(hash);
    bool was_disabled = a.disabled;
    a.disabled = false;
    a.updated = time_now_us();
    if (store_account_update(s, &a) != 0 || store_session_delete_account(s, a.id, NULL) != 0) {
        rc = EXIT_FAIL;
        goto out;
    }
    audit_local(s, "user.password_changed", a.id,
                json_pack("{s:s,s:b}", "username", a.username, "enabled_again", was_disabled));
    printf("set the password of %s%s\n", a.username, was_disabled ? " and enabled it again" : "");
    rc = 0;
out:
    free_password(pw);
    account_release(&a);
    close_store(&o, s, rc);
    opts_free(&o);
    return rc;
}

static int user_delete(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"db", 0, true, O_DB}, {"yes", 'y', false, O_YES},
                                           {NULL, 0, false, 0}};
    static const char usage[] = "usage: sked user delete USERNAME --yes [--db PATH]\n"
                                "\n"
                                "Deletes an account with its tokens and sessions. The last\n"
                                "enabled admin cannot be deleted.\n"
                                "\n"
                                "  -y, --yes            confirm\n" USAGE_DB;
    struct opts o;
    int rc = opts_parse_local(&o, "sked user delete", usage, spec, "USERNAME", argc, argv);
    if (rc >= 0) return rc;
    struct store *s = NULL;
    struct account a = {0};
    if (!opts_has(&o, O_YES)) {
        rc = usage_error(&o, "deleting an account cannot be undone; confirm with --yes");
        goto out;
    }
    if (!(s = open_store(&o)) || account_of(&o, s, o.arg, &a)) {
        rc = EXIT_FAIL;
        goto out;
    }
    if (a.role == ROLE_ADMIN && !a.disabled && store_account_count(s, ROLE_ADMIN, true) <= 1) {
        fprintf(stderr, "%s: %s is the last enabled admin; make another admin first\n", o.prog,
                a.username);
        rc = EXIT_FAIL;
        goto out;
    }
    if (store_account_delete(s, a.id) != 0) {
        rc = EXIT_FAIL;
        goto out;
    }
    audit_local(s, "user.deleted", a.id, json_pack("{s:s}", "username", a.username));
    printf("deleted account %s\n", a.username);
    rc = 0;
out:
    account_release(&a);
    close_store(&o, s, rc);
    opts_free(&o);
    return rc;
}

int cmd_user(int argc, char **argv)
{
    static const struct verb verbs[] = {{"add", user_add},
                                        {"list", user_list},
                                        {"passwd", user_passwd},
                                        {"delete", user_delete},
                                        {NULL, NULL}};
    static const char usage[] = "usage: sked user COMMAND [ARGS]\n"
                                "\n"
                                "Accounts, changed in the store directly (--db):\n"
                                "  add USERNAME         create an account\n"
                                "  list                 list the accounts\n"
                                "  passwd USERNAME      set a password\n"
                                "  delete USERNAME      delete an account\n"
                                "\n"
                                "See 'sked user COMMAND --help'.\n";
    if (sodium_init() < 0) return EXIT_FAIL;
    return cli_group("sked user", usage, verbs, argc, argv);
}

/* ---- tokens ---- */

static int token_create(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"db", 0, true, O_DB},
                                           {"user", 'u', true, O_USER},
                                           {"name", 0, true, O_NAME},
                                           {"expires", 0, true, O_EXPIRES},
                                           {"json", 0, false, O_JSON},
                                           {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked token create --user USERNAME --name NAME [--expires WHEN] [--json]\n"
        "                         [--db PATH]\n"
        "\n"
        "Creates an API token for an account and prints it once; only its hash is kept.\n"
        "\n"
        "  -u, --user USERNAME  the account the token acts as\n"
        "  --name NAME          what the token is for (e.g. \"ci\", \"backup script\"): one\n"
        "                       line of 1 to 100 characters\n"
        "  --expires WHEN       a duration from now (30d, 12h) or a date-time\n"
        "                       (2027-01-31 18:00 local time, 2027-01-31T18:00Z in UTC)\n"
        "  --json               print JSON\n" USAGE_DB;
    struct opts o;
    int rc = opts_parse_local(&o, "sked token create", usage, spec, NULL, argc, argv);
    if (rc >= 0) return rc;
    struct store *s = NULL;
    struct account a = {0};
    int64_t now = time_now_us(), expires = NO_TIME;
    const char *name = opts_get(&o, O_NAME), *user = opts_get(&o, O_USER), *why;
    char whybuf[64];
    if (!user || !name) {
        rc = usage_error(&o, "--user and --name (1 to 100 characters) are required");
        goto out;
    }
    if ((why = text_line_problem(name, 100, whybuf, sizeof whybuf))) {
        rc = usage_error(&o, "--name %s", why);
        goto out;
    }
    if (opts_get(&o, O_EXPIRES)) {
        int64_t ms;
        if (duration_parse(opts_get(&o, O_EXPIRES), &ms, &why) == 0) {
            expires = now + ms * 1000;
        } else if (time_parse(opts_get(&o, O_EXPIRES), &expires, &why) != 0) {
            rc = usage_error(&o, "--expires: a duration such as 30d or a date-time");
            goto out;
        } else if ((rc = opts_time_local(&o, O_EXPIRES, true, &expires))) {
            goto out; /* without a zone, local time as every time option reads it */
        }
        if (expires <= now) {
            rc = usage_error(&o, "--expires must be in the future");
            goto out;
        }
    }
    if (!(s = open_store(&o)) || account_of(&o, s, user, &a)) {
        rc = EXIT_FAIL;
        goto out;
    }
    struct token t;
    struct token_secret k;
    auth_new_token(&t, &k, a.id, name, now, expires);
    if (store_token_insert(s, &t, k.hash) != 0) {
        rc = EXIT_FAIL;
        goto out;
    }
    audit_local(s, "token.created", t.id, json_pack("{s:s,s:s}", "name", name, "username", a.username));
    if (opts_has(&o, O_JSON)) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", t.id, "name", name, "username",
                              a.username, "token", k.secret, "expires_at", time_json(expires));
        print_json(j);
        json_decref(j);
    } else {
        printf("%s\n", k.secret);
        fprintf(stderr, "created token %s (%s) for %s; it is shown only now\n", t.id, name,
                a.username);
    }
    sodium_memzero(&k, sizeof k);
    rc = 0;
out:
    account_release(&a);
    close_store(&o, s, rc);
    opts_free(&o);
    return rc;
}

static int token_list(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"db", 0, true, O_DB},
                                           {"user", 'u', true, O_USER},
                                           {"json", 0, false, O_JSON},
                                           {NULL, 0, false, 0}};
    static const char usage[] = "usage: sked token list [--user USERNAME] [--json] [--db PATH]\n"
                                "\n"
                                "Lists API tokens (never their secrets).\n"
                                "\n"
                                "  -u, --user USERNAME  only this account's tokens\n"
                                "  --json               print JSON\n" USAGE_DB;
    struct opts o;
    int rc = opts_parse_local(&o, "sked token list", usage, spec, NULL, argc, argv);
    if (rc >= 0) return rc;
    struct store *s = open_store(&o);
    struct account a = {0};
    struct token *ts = NULL;
    size_t n = 0;
    if (!s || (opts_get(&o, O_USER) && account_of(&o, s, opts_get(&o, O_USER), &a)) ||
        store_token_list(s, a.id[0] ? a.id : NULL, &ts, &n) != 0) {
        rc = EXIT_FAIL;
        goto out;
    }
    int64_t now = time_now_us();
    json_t *arr = json_array();
    struct table t;
    /* short ids and local times, as every table of the CLI shows them */
    table_init(&t, 7, "ID", "NAME", "USER", "PREFIX", "STATE", "EXPIRES", "LAST USED");
    t.free_text = TABLE_COL(1);
    for (size_t i = 0; i < n; i++) {
        const char *state = ts[i].revoked_at != NO_TIME ? "revoked"
                            : ts[i].expires_at != NO_TIME && ts[i].expires_at <= now ? "expired"
                                                                                      : "active";
        json_t *j = token_to_json(&ts[i], now);
        char id[16], used[TIMEBUF], until[TIMEBUF];
        fmt_time(json_str(j, "last_used"), used);
        if (ts[i].expires_at == NO_TIME)
            snprintf(until, sizeof until, "never");
        else
            fmt_time(json_str(j, "expires_at"), until);
        table_row(&t, short_id(ts[i].id, id), ts[i].name, ts[i].account_name, ts[i].prefix, state,
                  until, used);
        json_array_append_new(arr, j);
    }
    if (opts_has(&o, O_JSON)) {
        print_list(arr);
        arr = NULL;
    } else if (n == 0) {
        printf("no tokens\n");
    } else {
        table_print(&t, stdout);
    }
    table_free(&t);
    json_decref(arr);
    rc = 0;
out:
    store_tokens_free(ts, n);
    account_release(&a);
    close_store(&o, s, rc);
    opts_free(&o);
    return rc;
}

/* The whole id of the token that ref names: its id, or the start of one (4 characters or
 * more), in any case. Returns 0, -ENOENT when no token has it, -EINVAL for a start too short to
 * name one (a usage error), or another error (printed). */
static int token_id(const struct opts *o, struct store *s, const char *ref, char id[UUID_STR_LEN])
{
    size_t len = strlen(ref);
    if (uuid_valid(ref)) {
        for (size_t i = 0; i < UUID_STR_LEN; i++) id[i] = (char)tolower((unsigned char)ref[i]);
        return 0;
    }
    bool prefix = len < UUID_STR_LEN - 1;
    for (const char *p = ref; prefix && *p; p++) prefix = isxdigit((unsigned char)*p) || *p == '-';
    if (!prefix) return -ENOENT;
    if (len < 4) {
        usage_error(o, "'%s' is too short to name a token: give 4 characters of its id or more "
                       "(see sked token list)",
                    ref);
        return -EINVAL;
    }
    struct token *ts = NULL;
    size_t n = 0, found = 0;
    if (store_token_list(s, NULL, &ts, &n) != 0) return -EIO;
    for (size_t i = 0; i < n; i++) {
        if (strncasecmp(ts[i].id, ref, len) != 0) continue;
        if (!found++) snprintf(id, UUID_STR_LEN, "%s", ts[i].id);
    }
    if (found > 1) {
        fprintf(stderr, "%s: %zu tokens have ids starting with %s; give more of it:\n", o->prog,
                found, ref);
        for (size_t i = 0; i < n; i++)
            if (strncasecmp(ts[i].id, ref, len) == 0) fprintf(stderr, "  %s\n", ts[i].id);
    }
    store_tokens_free(ts, n);
    return found == 1 ? 0 : found ? -EEXIST : -ENOENT;
}

static int token_revoke(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"db", 0, true, O_DB}, {NULL, 0, false, 0}};
    static const char usage[] = "usage: sked token revoke ID [--db PATH]\n"
                                "\n"
                                "Revokes an API token at once. ID is the token's id, or its start\n"
                                "as 'sked token list' shows it.\n"
                                "\n" USAGE_DB;
    struct opts o;
    int rc = opts_parse_local(&o, "sked token revoke", usage, spec, "ID", argc, argv);
    if (rc >= 0) return rc;
    struct store *s = open_store(&o);
    if (!s) {
        opts_free(&o);
        return EXIT_FAIL;
    }
    char id[UUID_STR_LEN];
    int r = token_id(&o, s, o.arg, id);
    if (r == 0) r = store_token_revoke(s, id, time_now_us());
    if (r == 0) {
        audit_local(s, "token.revoked", id, NULL);
        printf("revoked token %s\n", id);
    } else if (r == -EALREADY) {
        printf("token %s was already revoked\n", id);
    } else if (r == -ENOENT) {
        fprintf(stderr, "%s: no token has the id %s%s; see sked token list\n", o.prog, o.arg,
                uuid_valid(o.arg) ? "" : " or one starting so");
    }
    close_store(&o, s, rc);
    opts_free(&o);
    return r == 0 || r == -EALREADY ? 0 : r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
}

int cmd_token(int argc, char **argv)
{
    static const struct verb verbs[] = {{"create", token_create},
                                        {"list", token_list},
                                        {"revoke", token_revoke},
                                        {NULL, NULL}};
    static const char usage[] = "usage: sked token COMMAND [ARGS]\n"
                                "\n"
                                "API tokens, changed in the store directly (--db):\n"
                                "  create               create a token for an account\n"
                                "  list                 list tokens\n"
                                "  revoke ID            revoke a token\n"
                                "\n"
                                "See 'sked token COMMAND --help'.\n";
    if (sodium_init() < 0) return EXIT_FAIL;
    return cli_group("sked token", usage, verbs, argc, argv);
}
