/*
 * test_config: `sked serve` settings. A typo in a flag or variable must stop sked with the
 * flag or variable named, never start it with a silently different setting; flags must win
 * over the environment.
 */
#include "unit.h"

#include <errno.h>

#include "config.h"

static void test_defaults(void **state)
{
    (void)state;
    struct config c;
    config_init(&c);
    assert_string_equal(c.db_path, "var/sked.db");
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_string_equal(c.tasks_dir, "tasks.d");
    assert_int_equal(c.nqueues, 2);
    assert_string_equal(c.queues[0].name, "default");
    assert_int_equal(c.queues[0].slots, 4);
    assert_string_equal(c.queues[1].name, "low");
    assert_int_equal(c.queues[1].slots, 1);
    assert_non_null(c.node);
    assert_true(c.node[0] != '\0');
    assert_null(c.admin_token);
    assert_int_equal(c.log_cap_bytes, 16 * 1024 * 1024);
    assert_int_equal(c.stop_grace_ms, 10000);
    assert_int_equal(c.shutdown_grace_ms, 30000);
    assert_int_equal(c.webhook_retry_ms, 1000);
    assert_int_equal(c.mail_retry_ms, 60000);
    assert_int_equal(c.max_body_bytes, 1024 * 1024);
    assert_int_equal(c.durability, DURABILITY_NORMAL);
    assert_int_equal(c.log_level, LOG_INFO);
    assert_int_equal(c.log_format, LOG_TEXT);
    /* nothing to load is fine too */
    struct sk_err e = {0};
    assert_int_equal(config_load(&c, 0, NULL, NULL, &e), 0);
    assert_string_equal(c.db_path, "var/sked.db");
    config_release(&c);
}

static void test_parse_queues(void **state)
{
    (void)state;
    struct config c;
    config_init(&c);
    struct sk_err e = {0};
    assert_int_equal(config_parse_queues(&c, "fast=8,slow,bulk.io-1_x=1024", &e), 0);
    assert_int_equal(c.nqueues, 3);
    assert_string_equal(c.queues[0].name, "fast");
    assert_int_equal(c.queues[0].slots, 8);
    assert_string_equal(c.queues[1].name, "slow");
    assert_int_equal(c.queues[1].slots, 1); /* no count: one slot */
    assert_string_equal(c.queues[2].name, "bulk.io-1_x");
    assert_int_equal(c.queues[2].slots, 1024);
    assert_ptr_equal(config_queue(&c, "slow"), &c.queues[1]);
    assert_null(config_queue(&c, "default"));
    assert_null(config_queue(&c, NULL));
    struct queue_names qn = config_queue_names(&c);
    assert_int_equal(qn.count, 3);
    assert_string_equal(qn.names[2], "bulk.io-1_x");

    static const struct {
        const char *spec, *needle;
    } bad[] = {
        {"", "at least one queue"},
        {" ", "at least one queue"},
        {",,", "',,': an empty item between commas"},
        {"a=1,,b=2", "an empty item between commas"},
        {"a=1,", "an empty item between commas"},
        {"a=+4", "queue 'a': concurrency must be a whole number"},
        {"a=0", "queue 'a': concurrency must be a whole number from 1 to 1024"},
        {"a=1025", "from 1 to 1024"},
        {"a=-1", "from 1 to 1024"},
        {"a=x", "whole number"},
        {"a=", "whole number"},
        {"a=2x", "whole number"},
        {"a=1,a=2", "queue 'a' is listed twice"},
        {"=3", "a queue name is 1..64"},
        {"bad name=1", "'bad name'"},
        {"a/b", "'a/b'"},
        {"x=99999999999999999999", "whole number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sk_err_clear(&e);
        assert_int_equal(config_parse_queues(&c, bad[i].spec, &e), -EINVAL);
        assert_string_equal(e.field, "queues");
        assert_contains(e.msg, bad[i].needle);
        /* a refused spec leaves the previous queues in place */
        assert_int_equal(c.nqueues, 3);
        assert_string_equal(c.queues[0].name, "fast");
    }
    char name[80];
    memset(name, 'q', 65);
    name[65] = '\0';
    assert_int_equal(config_parse_queues(&c, name, &e), -EINVAL);
    name[64] = '\0';
    assert_int_equal(config_parse_queues(&c, name, &e), 0);
    assert_int_equal(c.nqueues, 1);
    config_release(&c);
}

/* Loads argv (NULL-terminated) and env into a fresh config. */
static int load(struct config *c, const char **argv, const char **env, struct sk_err *e)
{
    config_init(c);
    sk_err_clear(e);
    int argc = 0;
    while (argv && argv[argc]) argc++;
    return config_load(c, argc, (char **)argv, (char **)env, e);
}

static void test_load_flags_and_env(void **state)
{
    (void)state;
    struct config c;
    struct sk_err e;
    const char *env[] = {"SKED_DB=/env.db",
                         "SKED_LISTEN=0.0.0.0:9000",
                         "SKED_TASKS=/env/tasks",
                         "SKED_QUEUES=env=2",
                         "SKED_NODE=env-node",
                         "SKED_LOG_CAP=1K",
                         "SKED_STOP_GRACE=5s",
                         "SKED_SHUTDOWN_GRACE=1m",
                         "SKED_MAX_BODY=2m",
                         "SKED_DURABILITY=full",
                         "SKED_LOG_LEVEL=debug",
                         "SKED_LOG_FORMAT=json",
                         "SKED_ADMIN_TOKEN=s3cret",
                         "SKED_DBX=ignored",
                         "PATH=/usr/bin",
                         NULL};
    assert_int_equal(load(&c, NULL, env, &e), 0);
    assert_string_equal(c.db_path, "/env.db");
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 9000);
    assert_string_equal(c.tasks_dir, "/env/tasks");
    assert_int_equal(c.nqueues, 1);
    assert_string_equal(c.queues[0].name, "env");
    assert_string_equal(c.node, "env-node");
    assert_int_equal(c.log_cap_bytes, 1024);
    assert_int_equal(c.stop_grace_ms, 5000);
    assert_int_equal(c.shutdown_grace_ms, 60000);
    assert_int_equal(c.max_body_bytes, 2 * 1024 * 1024);
    assert_int_equal(c.durability, DURABILITY_FULL);
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_int_equal(c.log_format, LOG_JSON);
    assert_string_equal(c.admin_token, "s3cret");
    config_release(&c);

    /* flags win over the environment, in both --k v and --k=v forms */
    const char *argv[] = {"--db", "/flag.db", "--listen=[::1]:0", "--queues", "a=1,b=3",
                          "--log-cap=2G", "--stop-grace", "250ms", "--log-level=warn",
                          "--durability", "normal", "--node=n1", "--log-format", "text",
                          "--max-body", "4096b", NULL};
    assert_int_equal(load(&c, argv, env, &e), 0);
    assert_string_equal(c.db_path, "/flag.db");
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 0);
    assert_int_equal(c.nqueues, 2);
    assert_string_equal(c.queues[1].name, "b");
    assert_int_equal(c.queues[1].slots, 3);
    assert_int_equal(c.log_cap_bytes, INT64_C(2) * 1024 * 1024 * 1024);
    assert_int_equal(c.stop_grace_ms, 250);
    assert_int_equal(c.log_level, LOG_WARN);
    assert_int_equal(c.durability, DURABILITY_NORMAL);
    assert_string_equal(c.node, "n1");
    assert_int_equal(c.log_format, LOG_TEXT);
    assert_int_equal(c.max_body_bytes, 4096);
    /* what the flags did not set still comes from the environment */
    assert_string_equal(c.tasks_dir, "/env/tasks");
    assert_int_equal(c.shutdown_grace_ms, 60000);
    config_release(&c);

    /* an empty admin token means none */
    const char *env2[] = {"SKED_ADMIN_TOKEN=", NULL};
    assert_int_equal(load(&c, NULL, env2, &e), 0);
    assert_null(c.admin_token);
    config_release(&c);

    /* the last of a repeated flag wins */
    const char *argv2[] = {"--db", "a.db", "--db", "b.db", NULL};
    assert_int_equal(load(&c, argv2, NULL, &e), 0);
    assert_string_equal(c.db_path, "b.db");
    config_release(&c);

    const char *help[] = {"--db", "x", "--help", "--bogus", NULL};
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w"); /* the usage text is not the test's output */
    int rc = load(&c, help, NULL, &e);
    fclose(stdout);
    stdout = saved;
    assert_int_equal(rc, 1);
    config_release(&c);
}

static void bad_flag(const char **argv, const char *field, const char *needle)
{
    struct config c;
    struct sk_err e;
    int rc = load(&c, argv, NULL, &e);
    if (rc != -EINVAL) fail_msg("%s: rc %d", argv[0], rc);
    if (strcmp(e.field, field) != 0) fail_msg("%s: field %s, want %s", argv[0], e.field, field);
    if (needle) assert_contains(e.msg, needle);
    config_release(&c);
}

static void bad_env(const char *var, const char *field, const char *needle)
{
    struct config c;
    struct sk_err e;
    const char *env[] = {var, NULL};
    int rc = load(&c, NULL, env, &e);
    if (rc != -EINVAL) fail_msg("%s: rc %d", var, rc);
    if (strcmp(e.field, field) != 0) fail_msg("%s: field %s, want %s", var, e.field, field);
    if (needle) assert_contains(e.msg, needle);
    config_release(&c);
}

#define BAD(field, needle, ...)                                                                 \
    do {                                                                                       \
        const char *argv_[] = {__VA_ARGS__, NULL};                                             \
        bad_flag(argv_, field, needle);                                                        \
    } while (0)

static void test_smtp_settings(void **state)
{
    (void)state;
    static const char *const good[] = {"smtp://127.0.0.1:2525", "smtp://mail",
                                       "smtps://user:p%40ss@mail.example.org:465/example.org",
                                       "smtp://[::1]:25", "smtp://[::1]"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        struct config c;
        struct sk_err e;
        const char *argv[] = {"--smtp-url", good[i], NULL};
        if (load(&c, argv, NULL, &e) != 0) fail_msg("%s refused: %s", good[i], e.msg);
        assert_string_equal(c.smtp_url, good[i]);
        config_release(&c);
    }
    /* an empty sender is the default one, printed as the one used */
    struct config c;
    struct sk_err e;
    const char *env[] = {"SKED_SMTP_FROM=", NULL};
    assert_int_equal(load(&c, NULL, env, &e), 0);
    assert_string_equal(c.smtp_from, "sked@localhost");
    config_release(&c);
    /* the waits before a delivery's retries */
    const char *retry[] = {"SKED_WEBHOOK_RETRY=250ms", "SKED_MAIL_RETRY=5m", NULL};
    assert_int_equal(load(&c, NULL, retry, &e), 0);
    assert_int_equal(c.webhook_retry_ms, 250);
    assert_int_equal(c.mail_retry_ms, 300000);
    config_release(&c);
}

static void test_trusted_proxies(void **state)
{
    (void)state;
    struct config c, fresh;
    struct sk_err e;
    const char *argv[] = {"--trusted-proxies", "127.0.0.1, 10.0.0.0/8", NULL};
    assert_int_equal(load(&c, argv, NULL, &e), 0);
    assert_string_equal(c.trusted_proxies, "127.0.0.1, 10.0.0.0/8");
    assert_true(cidr_list_has(&c.trusted, "10.2.3.4"));
    /* printed as given; a reload takes the new list at once */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_print(&c, f);
    fclose(f);
    assert_non_null(strstr(text, "\ntrusted_proxies = 127.0.0.1, 10.0.0.0/8\n"));
    free(text);
    const char *env[] = {"SKED_TRUSTED_PROXIES=::1", NULL};
    assert_int_equal(load(&fresh, NULL, env, &e), 0);
    char restart[256];
    config_reload(&c, &fresh, restart, sizeof restart);
    assert_string_equal(restart, "");
    assert_string_equal(c.trusted_proxies, "::1");
    assert_false(cidr_list_has(&c.trusted, "10.2.3.4"));
    assert_true(cidr_list_has(&c.trusted, "::1"));
    config_release(&fresh);
    config_release(&c);
    /* empty: none */
    const char *none[] = {"--trusted-proxies", "", NULL};
    assert_int_equal(load(&c, none, NULL, &e), 0);
    assert_null(c.trusted_proxies);
    assert_int_equal(c.trusted.n, 0);
    config_release(&c);
    BAD("--trusted-proxies", "'proxy.local': not an IP address or network", "--trusted-proxies",
        "127.0.0.1,proxy.local");
    bad_env("SKED_TRUSTED_PROXIES=10.0.0.0/40", "SKED_TRUSTED_PROXIES",
            "'10.0.0.0/40': the prefix length must be 0 to 32");
}

static void test_load_errors(void **state)
{
    (void)state;
    BAD("--db", "must not be empty", "--db", "");
    BAD("--listen", "expected HOST:PORT", "--listen", "8080");
    BAD("--listen", "expected HOST:PORT", "--listen", ":8080");
    BAD("--listen", "expected HOST:PORT", "--listen", "host:");
    BAD("--listen", "expected HOST:PORT", "--listen", "host:65536");
    BAD("--listen", "expected HOST:PORT", "--listen", "host:-1");
    BAD("--listen", "expected HOST:PORT", "--listen", "host:80x");
    BAD("--queues", "concurrency", "--queues", "a=0");
    BAD("--queues", "at least one queue", "--queues=");
    BAD("--node", "1..200", "--node", "");
    BAD("--log-cap", "at least 1K", "--log-cap", "512");
    BAD("--log-cap", "expected a size", "--log-cap", "lots");
    BAD("--log-cap", "a size of at most 1T", "--log-cap", "16T");
    BAD("--log-cap", "expected a size", "--log-cap", "-5M");
    BAD("--log-cap", "a size of at most 1T", "--log-cap", "2000G");
    BAD("--log-cap", "a size of at most 1T", "--log-cap", "99999999999999999999");
    BAD("--log-cap", "(a number and K, M, G or T)", "--log-cap", "5X");
    BAD("--listen", "the host must be an IP address or localhost", "--listen", "example.org:80");
    BAD("--listen", "the host must be an IP address or localhost", "--listen", "999.1.1.1:80");
    BAD("--tasks", "must not be empty", "--tasks", "");
    BAD("--web-dir", "'/nonexistent/ui': no such folder", "--web-dir", "/nonexistent/ui");
    BAD("--web-dir", "not a folder", "--web-dir", "/etc/hostname");
    BAD("--public-url", "the host is missing", "--public-url", "https://");
    BAD("--public-url", "the host is missing", "--public-url", "http:///x");
    BAD("--public-url", "no spaces", "--public-url", "https://a b");
    BAD("--node", "none of them a control character", "--node", "a\nb");
    BAD("--retention", "'100y': ", "--retention", "100y");
    BAD("--max-body", "expected a size", "--max-body", "1MB2");
    BAD("--stop-grace", "'soon'", "--stop-grace", "soon");
    BAD("--shutdown-grace", "expected a duration", "--shutdown-grace", "-1s");
    BAD("--durability", "expected normal or full", "--durability", "extra");
    BAD("--smtp-url", "expected smtp://HOST", "--smtp-url", "http://mail");
    BAD("--smtp-url", "the host is missing", "--smtp-url", "smtp://");
    BAD("--smtp-url", "the host is missing", "--smtp-url", "smtp://user:pw@:25");
    BAD("--smtp-url", "from 1 to 65535", "--smtp-url", "smtps://h:99999");
    BAD("--smtp-url", "from 1 to 65535", "--smtp-url", "smtp://h:0");
    BAD("--smtp-url", "from 1 to 65535", "--smtp-url", "smtp://h:25x/d");
    BAD("--smtp-url", "the port is missing", "--smtp-url", "smtp://h:");
    BAD("--smtp-url", "no spaces", "--smtp-url", "smtp://h x");
    BAD("--smtp-url", "not closed", "--smtp-url", "smtp://[::1:25");
    BAD("--retention", "at least 1m", "--retention", "30s");
    BAD("--retention", "at most 100 years", "--retention", "36601d");
    BAD("--webhook-retry", "a duration of 10ms to 1h", "--webhook-retry", "5ms");
    BAD("--mail-retry", "a duration of 10ms to 1h", "--mail-retry", "2h");
    BAD("--mail-retry", "expected a duration", "--mail-retry", "soon");
    BAD("--log-level", "expected debug, info, warn or error", "--log-level", "trace");
    BAD("--log-format", "expected text or json", "--log-format", "xml");
    BAD("--bogus", "unknown option", "--bogus", "1");
    BAD("--bogus", "unknown option", "--bogus=1");
    BAD("--bogus", "unknown option", "--bogus"); /* without a value: still unknown */
    BAD("serve", "unexpected argument", "serve");
    BAD("-d", "unexpected argument", "-d", "x");
    BAD("\"\"", "unexpected argument", ""); /* an empty argument, named as one */
    BAD("--db", "needs a value", "--db");
    /* the first bad flag stops the load */
    BAD("--log-level", NULL, "--db", "ok.db", "--log-level", "loud", "--bogus", "x");

    bad_env("SKED_DB=", "SKED_DB", "must not be empty");
    bad_env("SKED_LISTEN=localhost", "SKED_LISTEN", "expected HOST:PORT");
    bad_env("SKED_QUEUES=a=1,a=1", "SKED_QUEUES", "listed twice");
    bad_env("SKED_LOG_CAP=1", "SKED_LOG_CAP", "at least 1K");
    bad_env("SKED_MAX_BODY=x", "SKED_MAX_BODY", NULL);
    bad_env("SKED_STOP_GRACE=1y", "SKED_STOP_GRACE", NULL);
    bad_env("SKED_SHUTDOWN_GRACE=", "SKED_SHUTDOWN_GRACE", NULL);
    bad_env("SKED_DURABILITY=FULL", "SKED_DURABILITY", "expected normal or full");
    bad_env("SKED_LOG_LEVEL=verbose", "SKED_LOG_LEVEL", NULL);
    bad_env("SKED_LOG_FORMAT=yaml", "SKED_LOG_FORMAT", NULL);
    bad_env("SKED_NODE=", "SKED_NODE", NULL);

    /* a flag beats its variable, which is then not read at all (operations.md) */
    struct config c;
    struct sk_err e;
    const char *env[] = {"SKED_DB=", "SKED_LISTEN=nowhere", NULL};
    const char *argv[] = {"--db", "fine.db", "--listen=127.0.0.1:9", NULL};
    assert_int_equal(load(&c, argv, env, &e), 0);
    assert_string_equal(c.db_path, "fine.db");
    assert_int_equal(c.listen_port, 9);
    config_release(&c);
    /* a variable whose flag is not given is still read, and checked */
    const char *argv2[] = {"--db", "fine.db", NULL};
    assert_int_equal(load(&c, argv2, env, &e), -EINVAL);
    assert_string_equal(e.field, "SKED_LISTEN");
    config_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_parse_queues),
        cmocka_unit_test(test_load_flags_and_env),
        cmocka_unit_test(test_smtp_settings),
        cmocka_unit_test(test_trusted_proxies),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
