/*
 * server: `sked serve` - wires config, store, job types, the dispatcher, auth and the HTTP API
 * onto one libevent loop, recovers what a previous process left, and shuts down gracefully on
 * SIGTERM/SIGINT (stop accepting, let running tasks finish for the grace period, stop them,
 * exit 0).
 */
#ifndef SKED_SERVER_H
#define SKED_SERVER_H

/* Runs the server with the arguments after "serve"; returns the process exit code. */
int server_main(int argc, char **argv);

#endif
