/* tasks: `sked tasks` - the job types the server knows, from /api/tasks; `sked queues` - the
 * queues they run on, from /api/queues. */
#include <jansson.h>
#include <stdio.h>

#include "base/json.h"
#include "commands.h"

enum { O_JSON };

int cmd_tasks(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"json", 0, false, O_JSON}, {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked tasks [--json]\n"
        "\n"
        "Lists the job types: what 'sked job create --task' takes, and their arguments.\n"
        "\n"
        "  --json               print the API's JSON\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked tasks", usage, spec, NULL, argc, argv);
    if (rc >= 0) return rc;
    json_t *list;
    if ((rc = client_get(&o.cl, &list, "/api/tasks"))) goto out;
    if (opts_has(&o, O_JSON)) {
        print_json(list);
    } else {
        struct table t;
        table_init(&t, 5, "ID", "TITLE", "QUEUE", "TIMEOUT", "ARGUMENTS");
        size_t i;
        json_t *task;
        json_array_foreach(list_hits(list), i, task)
        {
            /* the argument names, which is what --arg needs */
            struct buf names = BUF_INIT;
            const char *name;
            json_t *prop;
            json_object_foreach(json_object_get(json_object_get(task, "arguments"), "properties"),
                                name, prop) buf_printf(&names, "%s%s", names.len ? ", " : "", name);
            table_row(&t, json_str(task, "id"), json_str(task, "title"),
                      json_str(task, "default_queue"), json_str(task, "timeout"), buf_cstr(&names));
            buf_free(&names);
        }
        if (t.nrows)
            table_print(&t, stdout);
        else
            printf("no job types (the server's tasks folder is empty)\n");
        table_free(&t);
    }
    json_decref(list);
out:
    opts_free(&o);
    return rc;
}

/* A count of a queue's entry as text: "-" when the server has none (a Celery broker out of
 * reach, a queue without slots of its own). */
static const char *count(const json_t *q, const char *key, char out[24])
{
    const json_t *v = json_object_get(q, key);
    if (!json_is_integer(v)) return "-";
    snprintf(out, 24, "%lld", (long long)json_integer_value(v));
    return out;
}

int cmd_queues(int argc, char **argv)
{
    static const struct opt_spec spec[] = {{"json", 0, false, O_JSON}, {NULL, 0, false, 0}};
    static const char usage[] =
        "usage: sked queues [--json]\n"
        "\n"
        "Lists the queues runs wait in: for each, where its runs execute (local: this\n"
        "server's workers; celery: the Celery broker shown, a Redis URL without its\n"
        "password), its slots, the runs executing now and the runs waiting. A queue taken\n"
        "out of the settings is listed until its runs end.\n"
        "\n"
        "  --json               print the API's JSON\n" USAGE_COMMON;
    struct opts o;
    int rc = opts_parse(&o, "sked queues", usage, spec, NULL, argc, argv);
    if (rc >= 0) return rc;
    json_t *list;
    if ((rc = client_get(&o.cl, &list, "/api/queues"))) goto out;
    if (opts_has(&o, O_JSON)) {
        print_json(list);
    } else {
        struct table t;
        /* two Celery queues of one name on two brokers are two rows: the broker tells them
         * apart */
        table_init(&t, 7, "QUEUE", "EXECUTOR", "BROKER", "SLOTS", "BUSY", "QUEUED", "NOTE");
        size_t i;
        json_t *q;
        json_array_foreach(list_hits(list), i, q)
        {
            char slots[24], busy[24], queued[24], note[64] = "";
            const json_t *workers = json_object_get(q, "workers");
            if (json_is_true(json_object_get(q, "removed")))
                snprintf(note, sizeof note, "removed: ends its runs");
            else if (json_is_array(workers))
                snprintf(note, sizeof note, "%zu worker(s)", json_array_size(workers));
            table_row(&t, json_str(q, "name"), json_str(q, "executor"), json_str(q, "broker"),
                      count(q, "concurrency", slots), count(q, "busy", busy),
                      count(q, "queued", queued), note);
        }
        if (t.nrows)
            table_print(&t, stdout);
        else
            printf("no queues\n");
        table_free(&t);
    }
    json_decref(list);
out:
    opts_free(&o);
    return rc;
}
