/*
 * cli: the client subcommands of sked. They talk to a running server over its REST API
 * (SKED_URL, default http://127.0.0.1:8080; SKED_TOKEN), print tables for people and JSON
 * with --json, and exit 0 on success, 1 when the server refused or a waited-for run did not
 * succeed, 2 on a usage error, 3 when the server cannot be reached.
 */
#ifndef SKED_CLI_H
#define SKED_CLI_H

#define CLI_UNKNOWN (-1000)

/* argv[0] is the subcommand. Returns an exit code, or CLI_UNKNOWN for no such command. */
int cli_main(int argc, char **argv);

#endif
