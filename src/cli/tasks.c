/* tasks: `sked tasks` - the job types the server knows, from /api/tasks. */
#include <jansson.h>

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
