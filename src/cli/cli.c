/* cli: the table of client commands behind cli_main(); see cli.h. */
#include "cli.h"

#include <string.h>

#include "commands.h"

static const struct verb commands[] = {
    {"job", cmd_job},   {"runs", cmd_runs},   {"run", cmd_run}, {"logs", cmd_logs},
    {"stop", cmd_stop}, {"tasks", cmd_tasks}, {"queues", cmd_queues}, {"cron", cmd_cron},
    {"user", cmd_user}, {"token", cmd_token}, {"backup", cmd_backup}, {"restore", cmd_restore},
    {"config", cmd_config}, {"audit", cmd_audit},
    {NULL, NULL},
};

int cli_main(int argc, char **argv)
{
    for (const struct verb *v = commands; v->name; v++)
        if (strcmp(v->name, argv[0]) == 0) return v->fn(argc, argv);
    return CLI_UNKNOWN;
}
