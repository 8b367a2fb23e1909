/*
 * fuzz_config: sked's settings as an operator writes them - a sked.conf file, or the flags of
 * `sked serve` (the input's NUL-separated strings), as the first byte chooses. A setting
 * accepted must be one sked can run with (ports, counts, sizes and durations in their ranges,
 * every queue named and with slots); one refused must say which setting and why. Either way
 * the settings print and reload over the defaults.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

static void check_accepted(const struct config *c)
{
    FUZZ_CHECK(c->db_path && *c->db_path && c->listen_host && c->node && *c->node);
    FUZZ_CHECK(c->listen_port >= 0 && c->listen_port <= 65535);
    FUZZ_CHECK(c->builtin_threads >= 1 && c->builtin_threads <= 64);
    FUZZ_CHECK(c->log_cap_bytes >= 1024 && c->max_body_bytes >= 1024);
    FUZZ_CHECK(c->stop_grace_ms >= 0 && c->shutdown_grace_ms >= 0 && c->retention_ms >= 60000);
    FUZZ_CHECK(c->nqueues >= 1);
    for (size_t i = 0; i < c->nqueues; i++) {
        FUZZ_CHECK(c->queues[i].name && *c->queues[i].name && strlen(c->queues[i].name) <= 64);
        FUZZ_CHECK(!strpbrk(c->queues[i].name, ",= "));
        FUZZ_CHECK(c->queues[i].slots >= 1 && c->queues[i].slots <= 1024);
        for (size_t k = 0; k < i; k++) FUZZ_CHECK(strcmp(c->queues[k].name, c->queues[i].name));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 16 * 1024) return 0;
    struct config c;
    config_init(&c);
    struct sk_err e = {0};
    int rc;
    if (data[0] & 1) {
        FILE *f = fmemopen((void *)(data + 1), size - 1, "r");
        if (!f) return 0;
        rc = config_load_stream(&c, f, "fuzz.conf", &e);
        fclose(f);
    } else {
        /* the flags: NUL-separated strings, those that would print the usage or read a file
         * left out */
        char *copy = malloc(size);
        if (!copy) abort();
        memcpy(copy, data + 1, size - 1);
        copy[size - 1] = '\0';
        char *argv[64];
        int argc = 0;
        for (char *p = copy; p < copy + size && argc < 64; p += strlen(p) + 1) {
            if (strcmp(p, "--help") == 0 || strcmp(p, "-h") == 0 ||
                strncmp(p, "--config", 8) == 0)
                continue;
            argv[argc++] = p;
        }
        char *env[] = {NULL};
        rc = config_load(&c, argc, argv, env, &e);
        free(copy);
    }
    if (rc == 0) {
        check_accepted(&c);
    } else {
        FUZZ_CHECK(rc < 0);
        FUZZ_CHECK(e.field[0] != '\0' && e.msg[0] != '\0');
    }
    FILE *out = fopen("/dev/null", "w");
    if (out) {
        config_print(&c, out);
        fclose(out);
    }
    struct config cur;
    config_init(&cur);
    char restart[256];
    config_reload(&cur, &c, restart, sizeof restart);
    config_release(&cur);
    config_release(&c);
    return 0;
}
