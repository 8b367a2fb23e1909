/* cli: subcommand table of the client commands; see cli.h. */
#include "cli.h"

int cli_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return CLI_UNKNOWN;
}
